"""End to end in a real browser: an editor writes, edits, voices and submits
a news item in the console; an approver approves and publishes it from the
approval queue; the public page and the commune's feed show it; the
commune administrator adds a section.

The browser runs in its own process (content_browser_flow.py); the services
run here. Screenshots go to TINXA_SCREENSHOT_DIR if set, else to the test's
tmp dir.
"""
import os
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest
import requests

from tests.integration.conftest import seed_people
from tests.integration.test_gateway_content import PEOPLE, XUAN_HUNG

FLOW = Path(__file__).with_name("content_browser_flow.py")
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ("content-empty-vi", "editor-new-vi", "editor-edit-vi", "item-submitted-vi", "history-vi",
               "review-vi", "item-approved-vi", "item-published-vi", "public-item-vi", "content-en",
               "content-phone-vi", "item-phone-vi", "history-phone-vi", "review-phone-vi", "public-item-phone-vi",
               "editor-phone-vi", "editor-rebuttal-vi", "sections-vi", "sections-phone-vi")
ADMIN = {"admin": ("quantri.xuanhung", "Lê Văn Quản", ["commune_admin"])}


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)")
def test_content_work_in_a_browser(content_system, tmp_path):
    base, config = content_system
    accounts = seed_people(config, XUAN_HUNG, {**PEOPLE, **ADMIN})
    shots = Path(os.environ.get("TINXA_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)

    run = subprocess.run([sys.executable, str(FLOW), base, *accounts["editor"], *accounts["approver"],
                          *accounts["admin"], str(shots)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr

    for name in SCREENSHOTS:
        assert (shots / f"{name}.png").stat().st_size > 10_000, name
    feed = feedparser.parse(requests.get(f"{base}/feeds/xuan-hung/atom.xml").content)
    assert feed.bozo is False
    assert [entry.title for entry in feed.entries] == ["Lịch tiêm chủng mở rộng tháng 4 tại trạm y tế xã"]
    assert "Mọi thắc mắc xin liên hệ trạm y tế xã" in feed.entries[0].content[0].value
    assert len(feed.entries[0].enclosures) == 2  # the photo and the audio
