"""Content work in the console, in headless Chromium: an editor writes a news
item with a photo, edits it, hears its audio and submits it; an approver
finds it in the approval queue, approves and publishes it; the public page
shows it; the commune administrator adds a section.

    python content_browser_flow.py BASE_URL EDITOR PASSWORD APPROVER PASSWORD ADMIN PASSWORD SCREENSHOT_DIR

Run by test_content_browser.py in its own process (see browser_flow.py for
why). Exits non-zero, naming the step, when a page is not what a person
expects. Screenshots are taken at 1280 px (desktop) and 390 px (phone) wide.
"""
import struct
import sys
import zlib
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from browser_flow import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, step

TITLE = "Lịch tiêm chủng mở rộng tháng 4 tại trạm y tế xã"
SUMMARY = "Trẻ em dưới 5 tuổi được tiêm miễn phí vào sáng thứ Bảy, ngày 18/4."
BODY = ("Trạm y tế xã Xuân Hưng tổ chức tiêm chủng mở rộng cho trẻ em dưới 5 tuổi vào sáng thứ Bảy, ngày 18/4/2026, "
        "từ 7 giờ 30 đến 11 giờ.\n\nPhụ huynh mang theo sổ tiêm chủng và thẻ bảo hiểm y tế của trẻ.")
ADDED = "Mọi thắc mắc xin liên hệ trạm y tế xã trong giờ hành chính."


def photo_png(width=96, height=60):
    """A real PNG (the national flag's red with a yellow square), so the
    screenshots show a picture where the item has one."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\0" + b"".join(
        bytes((255, 205, 0) if abs(x - width // 2) < 12 and abs(y - height // 2) < 12 else (218, 37, 29))
        for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def main(base, editor, editor_password, approver, approver_password, admin, admin_password, shots):
    shots = Path(shots)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport=DESKTOP).new_page()
        page.set_default_timeout(15_000)
        try:
            flow(page, base, (editor, editor_password), (approver, approver_password), shots)
            sections(page, base, (admin, admin_password), shots)
        except Exception:
            page.screenshot(path=shots / "failure.png", full_page=True)
            print(f"[browser] failed on {page.url}:\n{page.locator('body').inner_text()[:2000]}", flush=True)
            raise
        finally:
            browser.close()
    step("done")


def log_in(page, base, account):
    """Through the login form, to the content list (the overview needs the
    tasks service, which this system does not run)."""
    page.goto(f"{base}/login?next=/content")
    page.fill("#username", account[0])
    page.fill("#password", account[1])
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/content")


def flow(page, base, editor, approver, shots):
    step("the editor opens the content list from the navigation")
    log_in(page, base, editor)
    expect(page.locator("nav.sidebar")).to_contain_text("Nội dung")
    expect(page.locator("nav.sidebar")).not_to_contain_text("Duyệt tin")
    expect(page.locator("nav.sidebar a[aria-current=page]")).to_have_text("Nội dung")
    expect(page.locator("h1")).to_have_text("Nội dung")
    expect(page.locator(".feeds")).to_contain_text("/feeds/xuan-hung/atom.xml")
    page.screenshot(path=shots / "content-empty-vi.png", full_page=True)

    step("writing a news item with a photo")
    page.select_option("#new-kind", "news")
    page.get_by_role("button", name="Viết mới").click()
    expect(page.locator("h1")).to_have_text("Viết tin, bài mới")
    expect(page.locator("input[name=channels][value=website]")).to_be_checked()
    expect(page.locator(".rebuttal-fields")).to_be_hidden()
    page.select_option("#kind", "rebuttal")
    expect(page.locator(".rebuttal-fields")).to_be_visible()
    page.screenshot(path=shots / "editor-rebuttal-vi.png", full_page=True)
    page.select_option("#kind", "news")
    page.fill("#title", TITLE)
    page.fill("#summary", SUMMARY)
    page.fill("#body", BODY)
    page.select_option("#section", label="Chuyển đổi số")
    photo = shots / "tiem-chung.png"
    photo.write_bytes(photo_png())
    page.set_input_files("#images", str(photo))
    page.screenshot(path=shots / "editor-new-vi.png", full_page=True)
    page.get_by_role("button", name="Lưu", exact=True).click()
    expect(page.locator(".flash-ok")).to_have_text(f"Đã tạo «{TITLE}» (bản sửa 1).")
    expect(page.locator(".content-item .badge")).to_have_text("Bản nháp")
    expect(page.locator(".content-item .gallery img")).to_have_count(1)

    step("editing it, then saving and submitting")
    page.get_by_role("link", name="Sửa", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Sửa tin, bài")
    expect(page.locator(".thumbs img")).to_have_count(1)
    page.fill("#body", BODY + "\n\n" + ADDED)
    page.screenshot(path=shots / "editor-edit-vi.png", full_page=True)
    page.get_by_role("button", name="Lưu và gửi duyệt").click()
    expect(page.locator(".flash-ok")).to_have_text(f"Đã lưu và gửi duyệt «{TITLE}».")
    expect(page.locator(".content-item .badge")).to_have_text("Chờ duyệt")
    expect(page.locator(".content-item")).to_contain_text(ADDED)

    step("asking for the audio: the page says it renders, then plays it")
    page.get_by_role("button", name="Tạo âm thanh").click()
    expect(page.locator(".flash-ok")).to_contain_text("Đang tạo âm thanh")
    expect(page.locator("#audio audio")).to_be_visible(timeout=60_000)
    expect(page.locator("#audio")).to_contain_text("Thời lượng")
    page.screenshot(path=shots / "item-submitted-vi.png", full_page=True)

    step("the history shows what the edit changed")
    page.get_by_role("link", name="Lịch sử và so sánh các bản sửa").click()
    expect(page.locator(".diff-text ins").first).to_contain_text("Mọi thắc mắc")
    expect(page.locator(".revisions li")).to_have_count(2)
    page.screenshot(path=shots / "history-vi.png", full_page=True)

    step("the approver finds it in the approval queue")
    page.click("form.logout button")
    log_in(page, base, approver)
    page.click("nav.sidebar >> text=Duyệt tin")
    expect(page.locator("h1")).to_have_text("Duyệt tin")
    expect(page.locator("table.queue")).to_contain_text(TITLE)
    page.screenshot(path=shots / "review-vi.png", full_page=True)
    page.get_by_role("link", name=TITLE).click()

    step("approving with a comment, then publishing now")
    expect(page.locator(".content-item .badge")).to_have_text("Chờ duyệt")
    page.fill("#approve-comment", "Nội dung đầy đủ, đăng lên trang của xã.")
    page.get_by_role("button", name="Duyệt", exact=True).click()
    expect(page.locator(".flash-ok")).to_have_text(f"Đã duyệt «{TITLE}».")
    expect(page.locator(".content-item .badge")).to_have_text("Đã duyệt")
    page.screenshot(path=shots / "item-approved-vi.png", full_page=True)
    page.get_by_role("button", name="Xuất bản ngay").click()
    expect(page.locator(".flash-ok")).to_have_text(f"Đã xuất bản «{TITLE}».")
    expect(page.locator(".content-item .badge")).to_have_text("Đã xuất bản")
    expect(page.locator(".content-item .flag-live")).to_have_text("Đang đăng")
    expect(page.locator("#steps")).to_contain_text("Trần Thị Duyệt xuất bản")
    page.screenshot(path=shots / "item-published-vi.png", full_page=True)

    step("the public page shows the published item to anyone")
    page.get_by_role("link", name="Xem trang công khai").click()
    expect(page.locator("h1")).to_have_text(TITLE)
    expect(page.locator(".public-item")).to_contain_text(ADDED)
    expect(page.locator(".public-item img")).to_have_count(1)
    expect(page.locator(".public-item audio")).to_have_count(1)
    page.screenshot(path=shots / "public-item-vi.png", full_page=True)
    page.goto(f"{base}/p/xuan-hung")
    expect(page.locator("main")).to_contain_text(TITLE)

    step("the same pages in English and on a phone")
    page.goto(f"{base}/content")
    page.click("a[lang=en]")
    expect(page.locator("h1")).to_have_text("Content")
    page.screenshot(path=shots / "content-en.png", full_page=True)
    page.click("a[lang=vi]")
    item_url = page.locator("table.items a", has_text=TITLE).first.get_attribute("href")
    page.set_viewport_size(PHONE)
    for name, path in (("content-phone-vi", "/content"), ("item-phone-vi", item_url),
                       ("history-phone-vi", f"{item_url}/history?from=1&to=2"),
                       ("review-phone-vi", "/content/review")):
        page.goto(f"{base}{path}")
        page.screenshot(path=shots / f"{name}.png", full_page=True)
    page.goto(f"{base}{item_url}")
    page.get_by_role("link", name="Xem trang công khai").click()
    expect(page.locator("h1")).to_have_text(TITLE)
    page.screenshot(path=shots / "public-item-phone-vi.png", full_page=True)
    page.goto(f"{base}/content")
    page.click("form.logout button")
    log_in(page, base, editor)
    page.goto(f"{base}/content/new")
    page.screenshot(path=shots / "editor-phone-vi.png", full_page=True)


def sections(page, base, admin, shots):
    step("the commune administrator adds a section")
    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}/content")
    page.click("form.logout button")
    log_in(page, base, admin)
    page.get_by_role("link", name="Quản lý chuyên mục").click()
    expect(page.locator("h1")).to_have_text("Chuyên mục")
    page.fill("#section-name", "Nông thôn mới")
    page.get_by_role("button", name="Thêm", exact=True).click()
    expect(page.locator(".flash-ok")).to_have_text("Đã thêm chuyên mục «Nông thôn mới».")
    expect(page.locator("table.sections")).to_contain_text("Nông thôn mới")
    page.screenshot(path=shots / "sections-vi.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.reload()
    page.screenshot(path=shots / "sections-phone-vi.png", full_page=True)


if __name__ == "__main__":
    main(*sys.argv[1:9])
