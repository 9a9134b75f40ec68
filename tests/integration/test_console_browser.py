"""End to end in a real browser: log in through the login page, read the
task list in Vietnamese, switch to English, change a status with the form.

The browser runs in its own process (browser_flow.py); the services run here.
Screenshots go to TINXA_SCREENSHOT_DIR if set, else to the test's tmp dir.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.gateway.tests.conftest import PLAN_TEXT, SEED, SYSTEM_CONTEXT
from tests.integration.conftest import seed_commune

FLOW = Path(__file__).with_name("browser_flow.py")
CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)")
def test_console_in_a_browser(system, tmp_path):
    base, config = system
    username, password = seed_commune(config)
    with ClusterRpcProxy(config, context_data=SYSTEM_CONTEXT, timeout=30) as rpc:
        rpc.tasks.import_plan({"text": PLAN_TEXT, "source_name": SEED["plan"], "commune_id": SEED["commune"]["id"]})
    shots = Path(os.environ.get("TINXA_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)

    run = subprocess.run([sys.executable, str(FLOW), base, username, password, str(shots)],
                         capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stdout + run.stderr

    for name in ("login-vi", "tasks-vi", "task-en", "overview-en", "tasks-phone-vi"):
        assert (shots / f"{name}.png").stat().st_size > 10_000, name
    with ClusterRpcProxy(config, context_data=SYSTEM_CONTEXT, timeout=30) as rpc:
        page = rpc.tasks.list_tasks({"commune_id": SEED["commune"]["id"], "status": "in_progress"})
    assert [task["code"] for task in page["items"]] == ["I.1.1"]
