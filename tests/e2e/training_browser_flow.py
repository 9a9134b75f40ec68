"""Attendance taken on a phone (390 px wide) in headless Chromium: the trainer
signs in, opens a session's attendance sheet, marks the first person present
and the second late with a remark, and saves; the sheet fits the screen.

    python training_browser_flow.py BASE_URL USERNAME PASSWORD SHEET_PATH SCREENSHOT_DIR

Run by test_communicators.py in its own process (Playwright's sync API does
not shut down inside the eventlet-patched test process). Exits non-zero,
naming the step, when the page is not what a person expects.
"""
import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from browser_flow import CHROMIUM, CHROMIUM_ARGS, PHONE, step  # noqa: E402


def main(base, username, password, sheet_path, shots):
    shots = Path(shots)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport=PHONE, is_mobile=True).new_page()
        page.set_default_timeout(15_000)
        try:
            flow(page, base, username, password, sheet_path, shots)
        except Exception:
            page.screenshot(path=shots / "failure.png", full_page=True)
            print(f"[browser] failed on {page.url}:\n{page.locator('body').inner_text()[:3000]}", flush=True)
            raise
        finally:
            browser.close()
    step("done")


def flow(page, base, username, password, sheet_path, shots):
    step("signing in on the phone, straight to the attendance sheet")
    page.goto(f"{base}{sheet_path}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Điểm danh")
    rows = page.locator("li.attendance-row")
    expect(rows).to_have_count(2)
    page.screenshot(path=shots / "attendance-phone-vi.png", full_page=True)

    step("the sheet fits a phone's width: no sideways scrolling")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px screen"

    step("marking one present, one late with a remark, by tapping the labels")
    rows.nth(0).get_by_text("Có mặt", exact=True).click()
    rows.nth(1).get_by_text("Muộn", exact=True).click()
    rows.nth(1).locator("input[name^=remark-]").fill("Đến muộn 15 phút do mưa")
    page.get_by_role("button", name="Lưu điểm danh").click()

    step("saved: the counts say so and the marks stay")
    expect(page.locator(".attendance-counts")).to_contain_text("Có mặt: 1")
    expect(page.locator(".attendance-counts")).to_contain_text("Muộn: 1")
    expect(page.locator("li.attendance-row").nth(1).locator("input[name^=remark-]")).to_have_value(
        "Đến muộn 15 phút do mưa")
    page.screenshot(path=shots / "attendance-saved-phone-vi.png", full_page=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
