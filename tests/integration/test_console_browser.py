"""End to end in a real browser: log in through the login page, import the
plan through the import page (paste, preview, apply), read the task list in
Vietnamese, switch to English, change a status, report progress with a link
and a file, look at the agencies and download the quarter's report.

The browser runs in its own process (browser_flow.py); the services run here.
Screenshots go to TINXA_SCREENSHOT_DIR if set, else to the test's tmp dir.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.gateway.tests.conftest import SEED, SYSTEM_CONTEXT
from tests.integration.conftest import seed_commune

FLOW = Path(__file__).with_name("browser_flow.py")
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ("login-vi", "import-vi", "preview-vi", "plan-vi", "tasks-vi", "task-en", "overview-en", "task-vi",
               "guidance-vi", "agencies-vi", "agency-vi", "reports-vi", "overview-phone-vi", "tasks-phone-vi",
               "import-phone-vi", "agencies-phone-vi", "reports-phone-vi", "task-phone-vi", "preview-phone-vi")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)")
def test_console_in_a_browser(system, tmp_path):
    base, config = system
    username, password = seed_commune(config)
    shots = Path(os.environ.get("TINXA_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)

    run = subprocess.run([sys.executable, str(FLOW), base, username, password, str(shots)],
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr

    for name in SCREENSHOTS:
        assert (shots / f"{name}.png").stat().st_size > 10_000, name
    report = (shots / "report.docx").read_bytes()
    assert report[:4] == b"PK\x03\x04" and len(report) > 2000
    with ClusterRpcProxy(config, context_data=SYSTEM_CONTEXT, timeout=30) as rpc:
        commune_id = SEED["commune"]["id"]
        plans = rpc.tasks.list_plans(commune_id)
        started = rpc.tasks.list_tasks({"commune_id": commune_id, "status": "in_progress"})
        task = rpc.tasks.get_task(started["items"][0]["_id"], commune_id)
    assert [(plan["task_count"], plan["source_name"]) for plan in plans] == [(38, "Kế hoạch TTCS và TTĐN năm 2026")]
    assert [t["code"] for t in started["items"]] == ["I.1.1"]
    assert [(u["links"], [f["name"] for f in u["files"]]) for u in task["updates"]] == [
        (["https://xuanhung.ninhbinh.gov.vn/tin-tuc/du-thao-quy-che"], ["bien-ban-hop.pdf"])]
