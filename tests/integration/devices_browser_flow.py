"""Device work in the console, in headless Chromium: an operator registers a
loudspeaker and imports a device list (a wrong village caught row by row),
issues a provisioning code, and the installer (the simulator) brings the
device online with it; the operator watches its readings, sends it a test
command, sees it on the map, handles an alarm, issues an MQTT login once and
revokes the loudspeaker's credential, which cuts it off.

    python devices_browser_flow.py BASE_URL USERNAME PASSWORD DEVICELINK_TARGET WORK_DIR

Run by test_devices_browser.py in its own process (see browser_flow.py for
why); the simulator runs as the installer's device, in a process of its own.
Exits non-zero, naming the step, when a page is not what a person expects.
Screenshots are taken at 1280 px (desktop) and 390 px (phone) wide.
"""
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from browser_flow import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, step

REPO = Path(__file__).resolve().parents[2]
DEVICE = "LOA-CHO"
NAME = "Cụm loa chợ Xuân Hưng"
# the installer's spreadsheet: an e-board with a mistyped village, and an MQTT loudspeaker
WRONG_LIST = ("device_id,name,kind,village,lat,lon,transport\n"
              "BANGTIN-DEN,Bảng tin đình làng,eboard,thon-9,20.2545,105.9600,grpc\n"
              "LOA-DEN,Cụm loa đình làng,loudspeaker,thon-3,20.2560,105.9615,mqtt\n")
FIXED_LIST = WRONG_LIST.replace("thon-9", "thon-3")
# the simulator's default: the telemetry service evaluates a device's state
# for alarms once it has been still for two seconds (its SETTLE)
SAMPLE_SECONDS = 5


def main(base, username, password, target, work):
    work = Path(work)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport=DESKTOP).new_page()
        page.set_default_timeout(15_000)
        installer = Installer(target, work)
        try:
            flow(page, base, (username, password), installer, work)
        except Exception:
            page.screenshot(path=work / "failure.png", full_page=True)
            print(f"[browser] failed on {page.url}:\n{page.locator('body').inner_text()[:3000]}", flush=True)
            raise
        finally:
            installer.stop()
            browser.close()
    step("done")


class Installer:
    """The installer's device: the simulator, provisioned with the code the
    console showed; its credential and state live in a folder of its own,
    removed at the end."""

    def __init__(self, target, log_dir):
        self.target, self.log_dir, self.process = target, log_dir, None
        self.work = Path(tempfile.mkdtemp(prefix="tinxa-installer-"))

    def simulator(self, *args):
        return [sys.executable, "-m", "services.telemetry.simulator", *args]

    def provision(self, code):
        codes = self.work / "codes.json"
        codes.write_text(json.dumps([{"device_id": DEVICE, "code": code, "kind": "loudspeaker",
                                      "village": "thon-2"}]), encoding="utf-8")
        done = subprocess.run(self.simulator("provision", "--target", self.target, "--codes", str(codes),
                                             "--out", str(self.work / "credentials.json")),
                              cwd=REPO, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr

    def run(self):
        with open(self.log_dir / "simulator.log", "wb") as log:
            self.process = subprocess.Popen(self.simulator(
                "run", "--target", self.target, "--credentials", str(self.work / "credentials.json"),
                "--sample-interval", str(SAMPLE_SECONDS), "--faults", "0", "--log-dir", str(self.work / "device")),
                cwd=REPO, stdout=log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.work, ignore_errors=True)


def until(page, check, timeout=30.0, message="the page"):
    """Reload the page until ``check()`` holds (pages carry no scripts, so
    they show a change only when loaded again)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {message}")
        time.sleep(1)
        page.reload()


def log_in(page, base, account):
    page.goto(f"{base}/login?next=/devices")
    page.fill("#username", account[0])
    page.fill("#password", account[1])
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/devices")


def flow(page, base, account, installer, shots):
    step("the operator opens the device list from the navigation")
    log_in(page, base, account)
    expect(page.locator("nav.sidebar a[aria-current=page]")).to_have_text("Thiết bị")
    expect(page.locator("nav.sidebar")).to_contain_text("Cảnh báo")
    expect(page.locator("h1")).to_have_text("Thiết bị")
    expect(page.locator("main")).to_contain_text("Xã chưa đăng ký thiết bị nào.")
    page.screenshot(path=shots / "devices-empty-vi.png", full_page=True)

    step("registering one loudspeaker")
    page.get_by_role("link", name="Đăng ký, cấp mã thiết bị").click()
    expect(page.locator("h1")).to_have_text("Đăng ký và cấp mã thiết bị")
    form = page.locator("form.register-form")
    page.fill("#device-id", DEVICE)
    page.fill("#device-name", NAME)
    page.select_option("#device-kind", "loudspeaker")
    page.select_option("#device-village", label="Thôn 2")
    form.locator("input[name=lat]").fill("20.2530")
    form.locator("input[name=lon]").fill("105.9620")
    page.fill("#device-installed", "2026-04-01")
    page.fill("#device-timeout", "30")
    page.screenshot(path=shots / "provisioning-vi.png", full_page=True)
    page.get_by_role("button", name="Đăng ký", exact=True).click()
    expect(page.locator(".flash-ok")).to_contain_text(f"Đã đăng ký thiết bị «{NAME}».")
    expect(page.locator("h1")).to_have_text(NAME)
    expect(page.locator(".device-head .badge")).to_have_text("Chưa kết nối")
    expect(page.locator("#credential")).to_contain_text("Chưa cấp")

    step("importing a list: the mistyped village is caught on its row, nothing is imported")
    page.goto(f"{base}/devices/provisioning")
    (shots / "thiet-bi.csv").write_text(WRONG_LIST, encoding="utf-8")
    page.set_input_files("#import-file", str(shots / "thiet-bi.csv"))
    page.get_by_role("button", name="Xem trước").click()
    expect(page.locator("h1")).to_have_text("Xem trước danh sách thiết bị")
    expect(page.locator("main")).to_contain_text("2 dòng: 1 hợp lệ, 1 cần sửa.")
    expect(page.locator("tr.row-invalid")).to_contain_text("thôn «thon-9» không có trong danh sách thôn của xã")
    expect(page.get_by_role("button", name="Nhập 1 thiết bị")).to_have_count(0)
    page.screenshot(path=shots / "import-problem-vi.png", full_page=True)

    step("the corrected list, pasted, previewed and imported")
    page.get_by_role("link", name="← Chọn lại danh sách").click()
    page.fill("#import-csv", FIXED_LIST)
    page.get_by_role("button", name="Xem trước").click()
    expect(page.locator("main")).to_contain_text("2 dòng: 2 hợp lệ, 0 cần sửa.")
    page.screenshot(path=shots / "import-preview-vi.png", full_page=True)
    page.get_by_role("button", name="Nhập 2 thiết bị").click()
    expect(page).to_have_url(f"{base}/devices")
    expect(page.locator(".flash-ok")).to_have_text("Đã nhập 2 thiết bị.")
    expect(page.locator("section.village h2").first).to_contain_text("Thôn 2")
    expect(page.locator("svg.device-map a.map-mark")).to_have_count(3)

    step("a provisioning code for the installer, shown once")
    page.get_by_role("link", name=NAME).first.click()
    page.get_by_role("button", name="Cấp mã kích hoạt").click()
    expect(page.locator("h1")).to_have_text(f"Mã kích hoạt cho «{NAME}»")
    expect(page.locator(".issued .warning")).to_contain_text("Mã này chỉ hiện một lần")
    code = page.locator("#provisioning-code").inner_text()
    page.screenshot(path=shots / "code-vi.png", full_page=True)

    step("the installer enters the code: the device comes online with its readings")
    installer.provision(code)
    installer.run()
    page.get_by_role("link", name=f"← Về trang thiết bị «{NAME}»").click()
    until(page, lambda: expect(page.locator(".device-head .badge")).to_have_text("Trực tuyến", timeout=500),
          timeout=40, message="the device online")
    until(page, lambda: expect(page.locator("figure.chart path.chart-line")).not_to_have_count(0, timeout=500),
          message="the charts")
    expect(page.locator("#credential")).to_contain_text("Đang hoạt động")
    expect(page.locator("#connections")).to_contain_text("Đang kết nối")
    expect(page.locator(".device-head")).to_contain_text("Điện lưới")
    page.screenshot(path=shots / "device-online-vi.png", full_page=True)

    step("a test command reaches the device")
    page.fill("#command-volume", "40")
    page.get_by_role("button", name="Đặt âm lượng").click()
    expect(page.locator(".flash-ok")).to_have_text("Đã gửi lệnh đặt âm lượng 40% tới thiết bị.")
    until(page, lambda: expect(page.locator(".device-head .facts dd").first).to_have_text("40%", timeout=500),
          message="the device's volume at 40%")

    step("the registry, edited: the device's model")
    expect(page.locator(".side-column dd", has_text="giây")).to_have_text("30 giây")
    page.locator("details", has_text="Sửa thông tin").locator("summary").click()
    page.fill("#edit-model", "IPL-30W")
    page.get_by_role("button", name="Lưu thông tin").click()
    expect(page.locator(".flash-ok")).to_have_text(f"Đã lưu thông tin thiết bị «{NAME}».")
    expect(page.locator(".side-column dd", has_text="IPL")).to_have_text("IPL-30W")

    step("the map shows the commune's devices by state")
    page.click("nav.sidebar >> text=Thiết bị")
    expect(page.locator(f'svg.device-map a[href="/devices/{DEVICE}"] circle')).to_have_class("presence-online")
    expect(page.locator("svg.device-map circle.presence-unknown")).to_have_count(2)
    expect(page.locator("main")).to_contain_text("1 trực tuyến")
    page.screenshot(path=shots / "devices-vi.png", full_page=True)

    step("an alarm: a stricter mains rule raises one; the operator takes it on, then clears it")
    page.click("nav.sidebar >> text=Cảnh báo")
    expect(page.locator("h1")).to_have_text("Cảnh báo")
    expect(page.locator("main")).to_contain_text("Không có cảnh báo nào đang mở.")
    page.fill("input[form=rule-mains_lost][name=threshold]", "240")
    page.locator("#rule-mains_lost button").click()
    expect(page.locator(".flash-ok")).to_have_text("Đã lưu quy tắc «Mất điện lưới».")
    until(page, lambda: expect(page.locator("li.alarm")).to_have_count(1, timeout=500), message="the alarm")
    alarm = page.locator("li.alarm")
    expect(alarm).to_contain_text("Mất điện lưới")
    expect(alarm).to_contain_text("Chưa xử lý")
    expect(alarm.locator(".badge")).to_have_text("Nặng")
    page.screenshot(path=shots / "alarms-vi.png", full_page=True)
    alarm.locator("form", has_text="Nhận xử lý").locator("input[name=note]").fill("Đang kiểm tra ổn áp")
    alarm.get_by_role("button", name="Nhận xử lý").click()
    expect(page.locator(".flash-ok")).to_have_text(
        f"Đã nhận xử lý cảnh báo «Mất điện lưới» của thiết bị {DEVICE}.")
    expect(page.locator("li.alarm")).to_contain_text("«Đang kiểm tra ổn áp»")
    page.locator("li.alarm").get_by_role("button", name="Đã xử lý xong").click()
    expect(page.locator(".flash-ok")).to_have_text(f"Đã đóng cảnh báo «Mất điện lưới» của thiết bị {DEVICE}.")
    expect(page.locator("main")).to_contain_text("Không có cảnh báo nào đang mở.")
    page.select_option("select[name=status]", "all")
    page.get_by_role("button", name="Lọc").click()
    expect(page.locator("li.alarm .chip")).to_have_text("Đã xử lý xong")
    page.screenshot(path=shots / "alarms-cleared-vi.png", full_page=True)

    step("an MQTT device's login, shown once, then revoked")
    page.goto(f"{base}/devices/LOA-DEN")
    page.get_by_role("button", name="Cấp tài khoản MQTT").click()
    expect(page.locator("h1")).to_have_text("Tài khoản MQTT cho «Cụm loa đình làng»")
    expect(page.locator("#mqtt-username")).to_contain_text("device.xuan-hung.LOA-DEN")
    password = page.locator("#mqtt-password").inner_text()
    assert len(password) >= 16, password
    page.screenshot(path=shots / "mqtt-vi.png", full_page=True)
    page.get_by_role("link", name="← Về trang thiết bị «Cụm loa đình làng»").click()
    expect(page.locator("#credential")).to_contain_text("Đang hoạt động")
    expect(page.locator("body")).not_to_contain_text(password)
    revoke(page, "Thay thiết bị khác")

    step("revoking the loudspeaker's credential cuts it off")
    page.goto(f"{base}/devices/{DEVICE}")
    revoke(page, "Thiết bị bị mất trộm")
    expect(page.locator(".flash-ok")).to_have_text(
        f"Đã thu hồi khóa truy cập của thiết bị {DEVICE}; thiết bị đã bị ngắt kết nối.")
    until(page, lambda: expect(page.locator(".device-head .badge")).to_have_text("Ngoại tuyến", timeout=500),
          timeout=75, message="the device offline (its 30 s presence timeout)")
    page.screenshot(path=shots / "device-revoked-vi.png", full_page=True)

    step("the same pages in English and on a phone")
    page.goto(f"{base}/devices")
    page.click("a[lang=en]")
    expect(page.locator("h1")).to_have_text("Devices")
    expect(page.locator("nav.sidebar")).to_contain_text("Alarms")
    page.screenshot(path=shots / "devices-en.png", full_page=True)
    page.goto(f"{base}/devices/{DEVICE}")
    expect(page.locator("#charts h2")).to_have_text("Readings over time")
    page.screenshot(path=shots / "device-en.png", full_page=True)
    page.click("a[lang=vi]")
    page.set_viewport_size(PHONE)
    for name, path in (("home-phone-vi", "/"), ("devices-phone-vi", "/devices"),
                       ("device-phone-vi", f"/devices/{DEVICE}"), ("alarms-phone-vi", "/alarms?status=all"),
                       ("provisioning-phone-vi", "/devices/provisioning")):
        page.goto(f"{base}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide on a phone"
        page.screenshot(path=shots / f"{name}.png", full_page=True)


def revoke(page, reason):
    page.locator("#credential summary", has_text="Thu hồi khóa truy cập").click()
    page.fill("#revoke-reason", reason)
    page.locator("#credential").get_by_role("button", name="Thu hồi khóa truy cập").click()
    expect(page.locator("#credential")).to_contain_text("Đã thu hồi")


if __name__ == "__main__":
    main(*sys.argv[1:6])
