"""A person's first visit to the console, in headless Chromium.

    python browser_flow.py BASE_URL USERNAME PASSWORD SCREENSHOT_DIR

Run by test_browser.py in its own process: Playwright's sync API does not
shut down inside the eventlet-patched test process, which serves the pages.
Exits non-zero, naming the step, when the page is not what a person expects.
"""
import sys
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def step(text):
    print(f"[browser] {text}", flush=True)


def main(base, username, password, shots):
    shots = Path(shots)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(10_000)

        step("signed out, the task list sends me to the login page")
        page.goto(f"{base}/tasks")
        expect(page).to_have_url(f"{base}/login?next=%2Ftasks")
        expect(page.locator("html")).to_have_attribute("lang", "vi")
        expect(page.locator("h1")).to_have_text("Đăng nhập")
        page.screenshot(path=shots / "login-vi.png")

        step("logging in through the form")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{base}/tasks")
        expect(page.locator("h1")).to_have_text("Nhiệm vụ")
        row = page.locator("tr", has=page.locator("td.code", has_text="I.1.1")).first
        expect(row).to_contain_text("Xây dựng Quy chế quản lý, vận hành Hệ thống thông tin nguồn của xã")
        expect(row).to_contain_text("Phòng Văn hoá – Xã hội")
        expect(row).to_contain_text("Quý IV/2026")
        expect(row.locator(".badge")).to_have_text("Chưa thực hiện")
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

        step("the task list on a phone, in Vietnamese")
        page.click("a[lang=vi]")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{base}/tasks?q=I.1")
        expect(page.locator("h1")).to_have_text("Nhiệm vụ")
        page.screenshot(path=shots / "tasks-phone-vi.png")
        browser.close()
    step("done")


if __name__ == "__main__":
    main(*sys.argv[1:5])
