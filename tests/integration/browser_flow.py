"""An officer's work in the console, in headless Chromium: sign in, import
the year's plan (paste, preview, apply), follow a task, report progress with
evidence, look at the agencies, download the quarter's report.

    python browser_flow.py BASE_URL USERNAME PASSWORD SCREENSHOT_DIR

Run by test_console_browser.py in its own process: Playwright's sync API does
not shut down inside the eventlet-patched test process, which serves the pages.
Exits non-zero, naming the step, when the page is not what a person expects.
Screenshots are taken at 1280 px (desktop) and 390 px (phone) wide.
"""
import json
import sys
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SEED_DIR = Path(__file__).resolve().parents[2] / "deploy" / "seed"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
UPDATE_LINK = "https://xuanhung.ninhbinh.gov.vn/tin-tuc/du-thao-quy-che"
# the smallest PDF a browser and the tasks service accept as one
EVIDENCE_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n" \
               b"trailer<</Root 1 0 R>>\n%%EOF\n"


def step(text):
    print(f"[browser] {text}", flush=True)


def plan_text():
    seed = json.loads((SEED_DIR / "xuan-hung.json").read_text(encoding="utf-8"))
    return (SEED_DIR / seed["plan"]).read_text(encoding="utf-8")


def main(base, username, password, shots):
    shots = Path(shots)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            flow(page, base, username, password, shots)
        except Exception:
            page.screenshot(path=shots / "failure.png", full_page=True)
            print(f"[browser] failed on {page.url}:\n{page.locator('main').inner_text()[:2000]}", flush=True)
            raise
        finally:
            browser.close()
    step("done")


def flow(page, base, username, password, shots):
    """The steps, each checked as a person would check the page."""
    step("signed out, the overview sends me to the login page")
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/login?next=%2F")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("h1")).to_have_text("Đăng nhập")
    page.screenshot(path=shots / "login-vi.png")

    step("logging in through the form: a commune without a plan yet")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("section.plans")).to_contain_text("Xã chưa có kế hoạch nào.")
    expect(page.locator("nav.sidebar")).to_contain_text("Cơ quan")
    expect(page.locator("nav.sidebar")).to_contain_text("Báo cáo")

    step("importing the plan: paste its text, preview")
    page.get_by_role("link", name="Nhập kế hoạch").click()
    expect(page.locator("h1")).to_have_text("Nhập kế hoạch")
    page.screenshot(path=shots / "import-vi.png", full_page=True)
    page.fill("#plan-text", plan_text())
    page.fill("#source-name", "Kế hoạch TTCS và TTĐN năm 2026")
    page.get_by_role("button", name="Xem trước").click()
    expect(page.locator("h1")).to_have_text("Xem trước kế hoạch")
    expect(page.locator("main")).to_contain_text("Tìm thấy 38 nhiệm vụ")
    expect(page.locator(".problems")).to_contain_text("II.1.1")
    row = page.locator("table.preview tr", has=page.locator("td.code", has_text="I.1.1")).first
    expect(row).to_contain_text("«Quý IV/2026»")
    expect(row).to_contain_text("hạn 31/12/2026")
    page.screenshot(path=shots / "preview-vi.png")
    page.screenshot(path=shots / "preview-vi-full.png", full_page=True)

    step("applying the preview: the plan page says so")
    page.get_by_role("button", name="Áp dụng").click()
    expect(page.locator(".flash-ok")).to_contain_text("với 38 nhiệm vụ")
    expect(page.locator("h1")).to_contain_text("NHIỆM VỤ THỰC HIỆN CÔNG TÁC THÔNG TIN CƠ SỞ")
    expect(page.locator(".problems")).to_contain_text("II.1.1")
    page.screenshot(path=shots / "plan-vi.png", full_page=True)

    step("the task list shows I.1.1 as the plan writes it")
    page.get_by_role("link", name="Danh sách nhiệm vụ").click()
    expect(page.locator("h1")).to_have_text("Nhiệm vụ")
    row = page.locator("tr", has=page.locator("td.code", has_text="I.1.1")).first
    expect(row).to_contain_text("Xây dựng Quy chế quản lý, vận hành Hệ thống thông tin nguồn của xã")
    expect(row).to_contain_text("Phòng Văn hoá – Xã hội")
    expect(row).to_contain_text("Quý IV/2026")
    expect(row.locator(".badge")).to_have_text("Chưa thực hiện")
    blank = page.locator("tr", has=page.locator("td.code", has_text="II.1.1")).first
    expect(blank).to_contain_text("Cần bổ sung thời hạn")
    expect(page.locator("thead")).to_contain_text("Cơ quan phối hợp")
    page.screenshot(path=shots / "tasks-vi.png")

    step("switching to English")
    page.click("a[lang=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Tasks")
    expect(row.locator(".badge")).to_have_text("Not started")

    step("changing the status of I.1.1 through its form")
    row.locator("td.code a").click()
    expect(page.locator("h1")).to_contain_text("I.1.1")
    page.select_option("#status", "in_progress")
    page.click("text=Save status")
    expect(page.locator(".flash-ok")).to_have_text("Task I.1.1 is now “In progress”.")
    expect(page.locator(".task .badge")).to_have_text("In progress")
    page.screenshot(path=shots / "task-en.png")

    step("the overview lists the change as recent activity")
    page.click("nav.sidebar >> text=Overview")
    deadline = time.monotonic() + 15
    while "moved task I.1.1" not in page.locator("section.activity").inner_text():
        if time.monotonic() > deadline:
            raise AssertionError("the status change never reached the activity feed")
        time.sleep(0.3)
        page.reload()
    page.screenshot(path=shots / "overview-en.png", full_page=True)

    step("reporting progress on I.1.1 with a link and a file, in Vietnamese")
    page.click("a[lang=vi]")
    page.goto(f"{base}/tasks?q=I.1.1")
    page.locator("td.code a", has_text="I.1.1").first.click()
    expect(page.locator(".facts")).to_contain_text("«Quý IV/2026»")
    expect(page.locator(".facts")).to_contain_text("Theo quý")
    evidence = shots / "bien-ban-hop.pdf"
    evidence.write_bytes(EVIDENCE_PDF)
    page.fill("#update-text", "Đã dự thảo Quy chế, gửi các phòng, ban góp ý.")
    page.fill("#update-links", UPDATE_LINK)
    page.set_input_files("#update-files", str(evidence))
    page.get_by_role("button", name="Gửi báo cáo").click()
    expect(page.locator(".flash-ok")).to_have_text("Đã ghi nhận báo cáo tiến độ (1 liên kết, 1 tệp).")
    expect(page.locator("#updates")).to_contain_text("Đã dự thảo Quy chế, gửi các phòng, ban góp ý.")
    expect(page.locator(f"#updates a[href='{UPDATE_LINK}']")).to_be_visible()
    expect(page.locator("#updates")).to_contain_text("bien-ban-hop.pdf")
    history = page.locator("#history")
    expect(history).to_contain_text("báo cáo tiến độ: «Đã dự thảo Quy chế, gửi các phòng, ban góp ý.»")
    expect(history).to_contain_text("đổi trạng thái")
    page.screenshot(path=shots / "task-vi.png", full_page=True)

    step("recording that the guidance I.1.2 waited for arrived: it gets a deadline")
    page.goto(f"{base}/tasks?q=I.1.2")
    page.locator("td.code a", has_text="I.1.2").first.click()
    expect(page.locator(".facts")).to_contain_text("«Sau khi có hướng dẫn của Sở Văn hóa, Thể thao và Du lịch»")
    expect(page.locator(".facts")).to_contain_text("Chờ hướng dẫn của cấp trên")
    page.screenshot(path=shots / "guidance-vi.png", full_page=True)
    page.fill("#received-on", "2026-11-02")
    page.get_by_role("button", name="Ghi nhận").click()
    expect(page.locator(".flash-ok")).to_have_text("Đã ghi nhận hướng dẫn cho nhiệm vụ I.1.2; hạn hoàn thành 02/02/2027.")
    expect(page.locator(".facts")).to_contain_text("hạn 02/02/2027")
    expect(page.locator(".guidance")).to_have_count(0)

    step("the agencies: the Culture–Society office leads I.1.1")
    page.click("nav.sidebar >> text=Cơ quan")
    expect(page.locator("h1")).to_have_text("Cơ quan")
    page.screenshot(path=shots / "agencies-vi.png", full_page=True)
    page.get_by_role("link", name="Phòng Văn hóa – Xã hội").click()
    expect(page.locator("h1")).to_have_text("Phòng Văn hóa – Xã hội")
    expect(page.locator("table.tasks")).to_contain_text("I.1.1")
    page.screenshot(path=shots / "agency-vi.png")

    step("downloading the quarter's report as Word")
    page.click("nav.sidebar >> text=Báo cáo")
    expect(page.locator("h1")).to_have_text("Báo cáo")
    expect(page.locator("#period option:checked")).to_have_text("Quý IV năm 2026")
    page.check("input[name=format][value=docx]")
    page.fill("#signer", "Nguyễn Văn An")
    page.screenshot(path=shots / "reports-vi.png", full_page=True)
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Tạo và tải báo cáo").click()
    download = downloading.value
    if not download.suggested_filename.endswith(".docx"):
        raise AssertionError(f"the report is not a .docx: {download.suggested_filename}")
    download.save_as(shots / "report.docx")

    step("the same pages on a phone")
    page.set_viewport_size(PHONE)
    for name, path in (("overview-phone-vi", "/"), ("tasks-phone-vi", "/tasks?q=I.1"),
                       ("import-phone-vi", "/plans/import"), ("agencies-phone-vi", "/agencies"),
                       ("reports-phone-vi", "/reports")):
        page.goto(f"{base}{path}")
        page.screenshot(path=shots / f"{name}.png", full_page=True)
    page.goto(f"{base}/tasks?q=I.1.1")
    page.locator("td.code a", has_text="I.1.1").first.click()
    expect(page.locator("h1")).to_contain_text("I.1.1")
    page.screenshot(path=shots / "task-phone-vi.png", full_page=True)
    page.goto(f"{base}/plans/import")
    page.fill("#plan-text", plan_text())
    page.get_by_role("button", name="Xem trước").click()
    expect(page.locator("h1")).to_have_text("Xem trước kế hoạch")
    page.screenshot(path=shots / "preview-phone-vi.png")


if __name__ == "__main__":
    main(*sys.argv[1:5])
