"""End to end: broadcasts on the system as `make up` starts it, played by the
device simulator over DeviceLink — an emergency interrupting a programme
that then resumes, and a device that plays its slot while its link is down
and proves it afterwards with the true times."""
import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from services.broadcast.schedule import local
from shared.testing import wait_until
from shared.timeutil import parse_iso, utcnow
from tests.e2e.link import Link

REPO = Path(__file__).resolve().parents[2]
C = "xuan-hung"

pytestmark = pytest.mark.e2e


def rpc_proxy(stack):
    from nameko.standalone.rpc import ClusterRpcProxy

    from shared.context import CONTEXT_KEY, SYSTEM

    return ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, context_data={CONTEXT_KEY: SYSTEM.to_json()}, timeout=30)


def simulator(*args):
    return subprocess.Popen([sys.executable, "-m", "services.telemetry.simulator", *args], cwd=REPO)


def one_off(programme_id, device_id, starts_in, seconds):
    """A programme playing once on one device, ``starts_in`` seconds from now."""
    at = local(utcnow() + timedelta(seconds=starts_in)).replace(microsecond=0)
    return {"id": programme_id, "name": f"Chương trình thử {programme_id}", "priority": "normal",
            "target": {"devices": [device_id]},
            "items": [{"content_id": f"{programme_id}-1", "title": "Bản tin thử", "kind": "audio",
                       "duration_seconds": seconds, "media_url": f"/media/{programme_id}.mp3"}],
            "when": {"at": at.isoformat(timespec="seconds")}}


def wait_synced(rpc, device_id, programme_id):
    """Until the device acknowledged the schedule holding the programme; its entry."""
    def synced():
        held = rpc.broadcast.device_schedule(device_id, commune_id=C)
        entries = [e for e in held["entries"] if e["slot_id"].startswith(programme_id + "/")]
        return entries and held["synced_version"] == held["version"] and entries[0]
    return wait_until(synced, timeout=40, interval=0.5, message=f"{device_id} keeping {programme_id}")


def plays_of(rpc, device_id, **match):
    items = rpc.broadcast.play_log({"device_id": device_id, "limit": 50}, commune_id=C)["items"]
    return sorted((p for p in items if all(p.get(k) == v for k, v in match.items())), key=lambda p: p["started_at"])


def close(a, b, seconds=1.5):
    return abs((parse_iso(a) - parse_iso(b)).total_seconds()) <= seconds


def test_an_emergency_interrupts_the_playing_programme_which_then_resumes(stack):
    with rpc_proxy(stack) as rpc:
        rpc.broadcast.save_programme(one_off("ngat", "LOA-THON1", starts_in=15, seconds=25), commune_id=C)
        entry = wait_synced(rpc, "LOA-THON1", "ngat")
        slot_start, slot_end = parse_iso(entry["starts_at"]), parse_iso(entry["ends_at"])
        time.sleep(max(0.0, (slot_start - utcnow()).total_seconds() + 5))  # 5 s into the programme
        emergency = rpc.broadcast.create_broadcast(
            {"title": "Cảnh báo cháy rừng", "text": "Cháy rừng ở thôn 1, người dân không vào rừng.",
             "level": "emergency", "target": {"devices": ["LOA-THON1"]}, "duration_seconds": 5, "confirm": True},
            commune_id=C)

        def three_plays():
            slot = plays_of(rpc, "LOA-THON1", slot_id=entry["slot_id"])
            urgent = plays_of(rpc, "LOA-THON1", command_id=emergency["command_id"])
            return len(slot) == 2 and len(urgent) == 1 and (slot, urgent[0])
        (interrupted, resumed), urgent = wait_until(three_plays, timeout=60, interval=1,
                                                    message="the programme, the emergency, the programme again")
        assert not interrupted["completed"] and urgent["completed"] and resumed["completed"]
        assert close(interrupted["started_at"], entry["starts_at"])
        assert close(interrupted["ended_at"], urgent["started_at"], 0.5)  # cut at once
        assert close(urgent["ended_at"], resumed["started_at"], 0.5)  # and back right after
        assert (parse_iso(urgent["ended_at"]) - parse_iso(urgent["started_at"])).total_seconds() == pytest.approx(5, abs=0.5)
        assert close(resumed["ended_at"], entry["ends_at"])  # the slot keeps its end
        assert slot_end > parse_iso(resumed["started_at"])

        def delivered():
            found = rpc.broadcast.get_broadcast(emergency["broadcast_id"], commune_id=C)
            return found["state"] == "done" and found
        found = wait_until(delivered, timeout=20, message="the emergency delivered and played")
        [row] = found["deliveries"]
        assert row["state"] == "played" and row["acknowledged_at"]


def test_a_device_offline_during_its_slot_reports_the_play_later_with_its_true_times_counted_once(stack, tmp_path):
    host, port = stack.grpc_target.split(":")
    link = Link(host, int(port))
    link.up()
    with rpc_proxy(stack) as rpc:
        rpc.telemetry.register_device({"commune_id": C, "device_id": "LOA-MATSONG", "name": "Cụm loa mất sóng",
                                       "kind": "loudspeaker", "village": "thon-2", "presence_timeout_s": 30})
        code = rpc.telemetry.issue_provisioning_code("LOA-MATSONG", commune_id=C)["code"]
        (tmp_path / "codes.json").write_text(json.dumps([{"device_id": "LOA-MATSONG", "code": code,
                                                           "kind": "loudspeaker", "village": "thon-2"}]))
        assert simulator("provision", "--target", stack.grpc_target, "--codes", str(tmp_path / "codes.json"),
                         "--out", str(tmp_path / "creds.json")).wait(timeout=60) == 0
        device = simulator("run", "--target", link.address, "--credentials", str(tmp_path / "creds.json"),
                           "--sample-interval", "1", "--reconnect-max", "1", "--log-dir", str(tmp_path))
        try:
            rpc.broadcast.save_programme(one_off("matsong", "LOA-MATSONG", starts_in=20, seconds=8), commune_id=C)
            entry = wait_synced(rpc, "LOA-MATSONG", "matsong")
            link.down()  # the device keeps living and plays from its own copy
            time.sleep(max(0.0, (parse_iso(entry["ends_at"]) - utcnow()).total_seconds() + 11))
            assert plays_of(rpc, "LOA-MATSONG") == []  # nothing could be reported yet
            played = [json.loads(line) for line in (tmp_path / "plays.jsonl").read_text().splitlines()
                      if json.loads(line).get("slot_id") == entry["slot_id"]]
            assert len(played) == 1 and played[0]["completed"]  # it did play, offline

            link.up()
            [play] = wait_until(lambda: plays_of(rpc, "LOA-MATSONG"), timeout=40, interval=0.5,
                                message="the play reported after reconnecting")
            assert play["slot_id"] == entry["slot_id"] and play["completed"] and play["late"]
            assert close(play["started_at"], entry["starts_at"], 0.5) and close(play["ended_at"], entry["ends_at"], 0.5)
            day = local(parse_iso(play["started_at"])).date().isoformat()
            [hours] = rpc.broadcast.broadcast_hours(day, day, commune_id=C)["days"]
            assert hours["devices"]["LOA-MATSONG"] == round(play["seconds"] / 3600, 4)
            assert 7.5 <= play["seconds"] <= 8.5
            # the simulator restarted: nothing it already proved is counted again
            device.kill()
            device.wait(timeout=10)
            device = simulator("run", "--target", link.address, "--credentials", str(tmp_path / "creds.json"),
                               "--sample-interval", "1", "--reconnect-max", "1", "--log-dir", str(tmp_path))
            time.sleep(5)
            assert len(plays_of(rpc, "LOA-MATSONG")) == 1
            [again] = rpc.broadcast.broadcast_hours(day, day, commune_id=C)["days"]
            assert again["devices"]["LOA-MATSONG"] == hours["devices"]["LOA-MATSONG"]
        finally:
            device.kill()
            device.wait(timeout=10)
            link.down()


def console_session(stack):
    import requests

    session = requests.Session()
    response = session.post(f"{stack.base_url}/api/auth/login",
                            json={"username": "admin.xuanhung", "password": stack.password}, timeout=10)
    assert response.status_code == 200, response.text
    session.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return session


def csrf_of(page):
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_an_emergency_from_the_console_asks_for_confirmation_naming_the_devices_then_goes_out(stack):
    session = console_session(stack)
    form = session.get(f"{stack.base_url}/broadcasts/new", timeout=10)
    assert form.status_code == 200 and "Khẩn cấp" in form.text
    fields = {"csrf_token": csrf_of(form.text), "title": "Cảnh báo giông lốc", "text": "Người dân tránh xa cây lớn.",
              "kind": "audio", "level": "emergency", "devices": ["LOA-THON4", "LOA-THON5"], "duration_seconds": "3",
              "repeat": "1", "expires_in_minutes": "30"}
    asked = session.post(f"{stack.base_url}/broadcasts/new", data=fields, timeout=10)
    # the service's refusal carries the devices across RPC: the page names them
    assert asked.status_code == 200 and "2 thiết bị" in asked.text
    assert "LOA-THON4" in asked.text and "LOA-THON5" in asked.text
    with rpc_proxy(stack) as rpc:
        assert not [b for b in rpc.broadcast.list_broadcasts({"level": "emergency"}, commune_id=C)["items"]
                    if b["title"] == "Cảnh báo giông lốc"]  # nothing sent before the confirmation
    sent = session.post(f"{stack.base_url}/broadcasts/new", data=dict(fields, csrf_token=csrf_of(asked.text),
                                                                        confirm="true"), timeout=10)
    assert sent.status_code == 200 and "/broadcasts/" in sent.url
    assert 'http-equiv="refresh"' in sent.text or "Đã phát xong" in sent.text  # the live view
    broadcast_id = sent.url.rstrip("/").split("/")[-1].split("?")[0]

    def played():
        page = session.get(f"{stack.base_url}/broadcasts/{broadcast_id}", timeout=10).text
        return "Đã phát xong" in page and 'http-equiv="refresh"' not in page and page
    page = wait_until(played, timeout=40, interval=1, message="both loudspeakers played the emergency")
    assert page.count("Đã phát") >= 2


def test_a_cap_alert_posted_over_http_reaches_its_village_and_a_cancel_stops_it(stack):
    session = console_session(stack)
    alert = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>E2E-1</identifier><sender>kttv@ninhbinh.gov.vn</sender><sent>2026-11-26T08:00:00+07:00</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><language>vi-VN</language><category>Met</category><event>Ngập lụt</event>
    <urgency>Expected</urgency><severity>Moderate</severity><certainty>Likely</certainty>
    <headline>Nguy cơ ngập úng</headline><description>Mưa lớn kéo dài.</description>
    <area><areaDesc>Thôn 6, xã Xuân Hưng</areaDesc></area></info>
</alert>"""
    created = session.post(f"{stack.base_url}/api/cap", data=alert.encode("utf-8"),
                           headers={"Content-Type": "application/cap+xml"}, timeout=20)
    assert created.status_code == 201, created.text
    broadcast = created.json()["broadcast"]
    assert broadcast["level"] == "priority" and broadcast["target"] == {"zones": ["thon-6"]}
    # the loudspeakers fetch the alert spoken: no session, 503 + Retry-After until the content service made it
    address = f"{stack.base_url}{broadcast['media_url']}"
    assert broadcast["media_url"] == f"/p/{C}/speech/{broadcast['content_id']}"

    def spoken():
        response = requests.get(address, timeout=20)
        assert response.status_code in (200, 503), response.text
        assert response.status_code == 200 or response.headers["Retry-After"] == "2"
        return response.status_code == 200 and response
    speech = wait_until(spoken, timeout=60, interval=0.5, message="the alert spoken")
    assert speech.headers["Content-Type"] == "audio/mpeg" and len(speech.content) > 10_000
    recorded = wait_until(lambda: (lambda b: b["speech"]["state"] == "ready" and b["speech"])(
        session.get(f"{stack.base_url}/api/broadcasts/{broadcast['broadcast_id']}", timeout=20).json()),
        timeout=30, message="the speech recorded on the broadcast")
    assert recorded["duration_seconds"] > 1
    cancel = alert.replace("<identifier>E2E-1", "<identifier>E2E-2").replace(
        "<msgType>Alert</msgType>", "<msgType>Cancel</msgType><references>kttv@ninhbinh.gov.vn,E2E-1,"
        "2026-11-26T08:00:00+07:00</references>")
    cancelled = session.post(f"{stack.base_url}/api/cap", data=cancel.encode("utf-8"),
                             headers={"Content-Type": "application/cap+xml"}, timeout=20)
    assert cancelled.status_code == 200 and cancelled.json()["action"] == "cancelled"
    entity = ('<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
              '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>')
    refused = session.post(f"{stack.base_url}/api/cap", data=entity, headers={"Content-Type": "application/xml"},
                           timeout=20)
    assert refused.status_code == 400 and "CAP" in refused.json()["message"]
