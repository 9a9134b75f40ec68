"""The broadcast service as a container on the real broker and store: the
telemetry registry and the gateway's commune profile are stand-ins, the
devices' edges are a queue bound to the DeviceLink exchanges (what a device
would be sent), and device answers are published as the edge publishes them."""
import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue
from nameko.testing.services import entrypoint_hook, replace_dependencies
from prometheus_client import REGISTRY

from services.broadcast.service import BroadcastService
from shared.bus import Publisher
from shared.context import CONTEXT_KEY, Caller
from shared.devicelink import COMMANDS_EXCHANGE, FANOUT_EXCHANGE
from shared.errors import TinxaError
from shared.events import make_event
from shared.testing import event_tap, wait_until
from shared.timeutil import iso, parse_iso, utcnow

C = "xuan-hung"
SAMPLES = Path(__file__).parent / "cap_samples"
DEVICES = [
    {"device_id": f"LOA-THON{n}", "kind": "loudspeaker", "village": f"thon-{n}", "name": f"Cụm loa Thôn {n}"}
    for n in (1, 2, 3)
] + [{"device_id": "BANGTIN-UBND", "kind": "eboard", "village": "thon-1", "name": "Bảng tin UBND"}]
LOUDSPEAKERS = sorted(d["device_id"] for d in DEVICES if d["kind"] == "loudspeaker")


def who(commune_id=C, *roles):
    return Caller(subject="u1", commune_id=commune_id, roles=frozenset(roles or ("commune_admin",)),
                  name="Nguyễn Thị Lan")


ADMIN, OPERATOR, VIEWER = who(), who(C, "operator"), who(C, "viewer")


class Telemetry:
    def list_devices(self, request):
        assert request["commune_id"] == C
        return [dict(d) for d in DEVICES]


class Gateway:
    def commune_profile(self, commune_id):
        return {"name": "Xuân Hưng", "villages": [{"id": f"thon-{n}", "name": f"Thôn {n}"} for n in range(1, 7)]}


class Content:
    """Published «Thời sự» with audio; «Nháp» not published yet."""

    ITEMS = {
        "tin-1": {"_id": "tin-1", "title": "Thời sự", "live": True, "audio": {"media_id": "m-1", "duration_seconds": 95.2},
                  "published": {"title": "Thời sự sáng", "summary": "Tin trong xã.", "audio_media_id": "m-1"}},
        "nhap": {"_id": "nhap", "title": "Nháp", "live": False, "published": None},
    }

    def get_item(self, item_id, commune_id=None):
        assert commune_id == C
        return self.ITEMS[item_id]


@pytest.fixture
def container(container_factory, service_config):
    container = container_factory(BroadcastService, dict(service_config, DISPATCH_SECONDS=0.2, PLAN_SECONDS=0.5,
                                                         DELIVERIES_DELAY_SECONDS=0.3,
                                                         ESCALATION_SECONDS=2, ESCALATION_SHARE=0.9))
    replace_dependencies(container, telemetry=Telemetry(), gateway=Gateway(), content=Content())
    container.start()
    return container


@pytest.fixture
def sent(service_config):
    """Every command the service sends, as an edge would receive it
    (bound for the whole commune, so nothing comes back unroutable)."""
    received = []
    with Connection(service_config["AMQP_URI"]) as conn:
        queue = Queue(f"edge-{uuid.uuid4().hex[:8]}", exclusive=True)
        with conn.channel() as channel:
            fanout = Exchange(FANOUT_EXCHANGE, type="direct", durable=True)(channel)
            direct = Exchange(COMMANDS_EXCHANGE, type="topic", durable=True)(channel)
            fanout.declare()
            direct.declare()
            bound = queue(channel)
            bound.declare()
            bound.bind_to(fanout, routing_key=C)
            bound.bind_to(direct, routing_key=f"{C}.*")

            def on_message(body, message):
                received.append(json.loads(body) if isinstance(body, str) else body)
                message.ack()

            with conn.Consumer(bound, callbacks=[on_message]):
                def drain():
                    try:
                        conn.drain_events(timeout=0.2)
                    except TimeoutError:
                        pass
                    return list(received)
                yield drain


@pytest.fixture
def events(service_config):
    with event_tap(service_config["AMQP_URI"], "broadcast") as tap:
        yield tap


def call(container, method, *args, caller=ADMIN, **kwargs):
    with entrypoint_hook(container, method, context_data={CONTEXT_KEY: caller.to_json()}) as hook:
        return hook(*args, **kwargs)


def answer(service_config, acks=(), reports=()):
    """Publish device answers as the DeviceLink edge does."""
    publisher = Publisher(service_config["AMQP_URI"])
    if acks:
        publisher.publish_event("telemetry", "commands_acknowledged",
                                make_event("telemetry", "commands_acknowledged", C, acks=list(acks)))
    if reports:
        publisher.publish_event("telemetry", "plays_reported",
                                make_event("telemetry", "plays_reported", C, reports=list(reports)))
    publisher.close()


def ack(device_id, command_id, status="accepted", at=None, message="playing"):
    return {"device_id": device_id, "command_id": command_id, "status": status, "message": message,
            "at": at or iso()}


def states(container, broadcast_id):
    found = call(container, "get_broadcast", broadcast_id)
    return {d["device_id"]: d["state"] for d in found["deliveries"]}


def emergency(container, **extra):
    request = {"title": "Cảnh báo lũ quét", "text": "Người dân di chuyển lên vùng cao ngay.", "level": "emergency",
               "target": {"commune": True}, "duration_seconds": 30, **extra}
    return call(container, "create_broadcast", request)


# --- the commune's own emergency --------------------------------------------------------------

def test_an_emergency_needs_its_confirmation_and_then_goes_out_as_one_fan_out_command(container, sent, events):
    with pytest.raises(TinxaError) as refused:
        emergency(container)
    assert type(refused.value).__name__ == "Conflict"
    assert "4" not in refused.value.message and "3 thiết bị" in refused.value.message  # loudspeakers only

    created = emergency(container, confirm=True)
    assert created["state"] == "sending" and created["device_count"] == 3
    [command] = wait_until(lambda: [c for c in sent() if c.get("device_ids")], message="the fan-out command")
    assert command["device_ids"] == LOUDSPEAKERS and command["kind"] == "play"
    assert command["params"]["priority"] == "emergency" and command["command_id"] == created["command_id"]
    wait_until(lambda: set(states(container, created["broadcast_id"]).values()) == {"queued"},
               message="a queued delivery per device, stored after the command went out")
    wait_until(lambda: [e for e in events() if e.name == "broadcast_created"], message="broadcast_created")


def test_answers_move_each_delivery_forward_once_and_a_fully_played_broadcast_is_done(container, sent, service_config):
    created = emergency(container, confirm=True)
    command_id = created["command_id"]
    first, second, third = LOUDSPEAKERS
    answer(service_config, acks=[ack(first, command_id), ack(second, command_id, message="queued")])
    wait_until(lambda: states(container, created["broadcast_id"]) == {first: "playing", second: "acknowledged",
                                                                      third: "queued"}, message="acknowledged")
    # a redelivered batch and an out-of-order accepted change nothing; completed plays
    answer(service_config, acks=[ack(first, command_id), ack(first, command_id, "completed", message="played"),
                                 ack(second, command_id, "completed", message="played"),
                                 ack(third, command_id, "rejected", message="busy")])
    wait_until(lambda: states(container, created["broadcast_id"]) == {first: "played", second: "played",
                                                                      third: "failed"}, message="final states")
    found = wait_until(lambda: (lambda b: b if b["state"] == "done" else None)(
        call(container, "get_broadcast", created["broadcast_id"])), message="done")
    assert found["delivery"]["acknowledged"] == 2 and found["delivery"]["states"]["failed"] == 1
    by_device = {d["device_id"]: d for d in found["deliveries"]}
    assert by_device[first]["acknowledged_at"] and by_device[first]["played_at"]
    assert by_device[third]["failure"]["reason"] == "rejected"


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_prometheus_counts_broadcasts_deliveries_by_state_and_times_to_acknowledge(container, sent, service_config):
    def counts():
        return {state: sample("tinxa_broadcast_deliveries_total", commune_id=C, level="emergency", state=state)
                for state in ("queued", "playing", "played", "failed")}
    created_before = sample("tinxa_broadcasts_total", commune_id=C, origin="commune", level="emergency")
    acks_before = sample("tinxa_broadcast_acknowledgement_seconds_count", level="emergency")
    quick_before = sample("tinxa_broadcast_acknowledgement_seconds_bucket", level="emergency", le="30.0")
    before = counts()
    created = emergency(container, confirm=True)
    first, second, third = LOUDSPEAKERS
    wait_until(lambda: counts()["queued"] - before["queued"] == 3, message="three deliveries queued")
    answer(service_config, acks=[ack(first, created["command_id"]), ack(second, created["command_id"]),
                                 ack(third, created["command_id"], "rejected", message="busy")])
    wait_until(lambda: states(container, created["broadcast_id"]) == {first: "playing", second: "playing",
                                                                      third: "failed"}, message="answered")
    answer(service_config, acks=[ack(first, created["command_id"], "completed", message="played")])
    wait_until(lambda: counts()["played"] - before["played"] == 1, message="one played")
    after = counts()
    assert {state: after[state] - before[state] for state in after} == {"queued": 3, "playing": 2, "played": 1,
                                                                       "failed": 1}
    assert sample("tinxa_broadcasts_total", commune_id=C, origin="commune", level="emergency") - created_before == 1
    # two devices acknowledged (the rejection is no acknowledgement), each observed once, within seconds
    assert sample("tinxa_broadcast_acknowledgement_seconds_count", level="emergency") - acks_before == 2
    assert sample("tinxa_broadcast_acknowledgement_seconds_bucket", level="emergency", le="30.0") - quick_before == 2


def test_devices_that_do_not_answer_get_their_own_command_again_and_escalation_is_raised_once(
        container, sent, events, service_config):
    escalations = sample("tinxa_broadcast_escalations_total", commune_id=C, level="emergency")
    created = emergency(container, confirm=True)
    first = LOUDSPEAKERS[0]
    answer(service_config, acks=[ack(first, created["command_id"])])
    # after the first back-off (5 s) the silent two are sent their own command, same id
    retried = wait_until(lambda: (lambda ids: ids if len(ids) == 2 else None)(
        sorted(c["device_id"] for c in sent() if c.get("device_id"))), timeout=15, message="per-device retries")
    assert retried == LOUDSPEAKERS[1:]
    assert all(c["command_id"] == created["command_id"] for c in sent() if c.get("device_id"))
    assert set(states(container, created["broadcast_id"]).values()) == {"playing", "sent"}
    [escalated] = wait_until(lambda: [e.body for e in events() if e.name == "broadcast_escalated"],
                             message="one escalation")
    assert (escalated["acknowledged"], escalated["total"]) == (1, 3)
    wait_until(lambda: len(sent()) >= 5, timeout=15, message="a second retry")
    assert len([e for e in events() if e.name == "broadcast_escalated"]) == 1
    assert sample("tinxa_broadcast_escalations_total", commune_id=C, level="emergency") - escalations == 1


def test_only_leaders_may_broadcast_an_emergency_and_nobody_in_another_commune(container):
    with pytest.raises(TinxaError) as refused:
        call(container, "create_broadcast", {"title": "x", "level": "emergency", "confirm": True}, caller=OPERATOR)
    assert type(refused.value).__name__ == "Forbidden"
    with pytest.raises(TinxaError) as refused:
        call(container, "create_broadcast", {"title": "x", "level": "normal"}, caller=VIEWER)
    assert type(refused.value).__name__ == "Forbidden"
    with pytest.raises(TinxaError) as refused:
        call(container, "list_broadcasts", {}, caller=who("yen-thang"), commune_id=C)
    assert type(refused.value).__name__ == "Forbidden"


@pytest.mark.parametrize("request_, field", [
    ({"level": "normal"}, "title"),
    ({"title": "x", "level": "loud"}, "level"),
    ({"title": "x", "level": "normal", "kind": "text"}, "text"),
    ({"title": "x", "level": "normal", "duration_seconds": 0}, "duration_seconds"),
    ({"title": "x", "level": "normal", "target": {"zones": ["nowhere"]}}, "target.zones"),
    ({"title": "x", "level": "normal", "target": {"devices": ["BANGTIN-UBND"]}}, "target.devices"),
])
def test_a_bad_broadcast_is_refused_naming_the_field(container, request_, field):
    with pytest.raises(TinxaError) as refused:
        call(container, "create_broadcast", request_)
    assert type(refused.value).__name__ == "InvalidInput" and field in refused.value.message


# --- bulletins from the source system (Circular 39 levels) --------------------------------------

def bulletin(level, external_id, **extra):
    return {"source": "province", "external_id": external_id, "title": f"Bản tin {level}", "text": "Nội dung.",
            "level": level, **extra}


def test_a_normal_bulletin_waits_in_the_inbox_until_an_operator_schedules_it(container, sent):
    waiting = call(container, "receive_bulletin", bulletin("normal", "T-1"), caller=OPERATOR)
    again = call(container, "receive_bulletin", bulletin("normal", "T-1"), caller=OPERATOR)
    assert waiting["state"] == "inbox" and again["broadcast_id"] == waiting["broadcast_id"]
    urgent = call(container, "receive_bulletin", bulletin("emergency", "T-2"), caller=OPERATOR)
    listed = call(container, "list_broadcasts", {})
    assert [b["broadcast_id"] for b in listed["items"]][:1] == [waiting["broadcast_id"]]
    assert listed["inbox"]["normal"] == 1 and urgent["state"] == "sending"
    assert not [c for c in sent() if c["command_id"] == waiting["command_id"]]
    scheduled = call(container, "schedule_broadcast", waiting["broadcast_id"], caller=OPERATOR)
    assert scheduled["state"] == "sending"
    wait_until(lambda: [c for c in sent() if c["command_id"] == waiting["command_id"]], message="dispatched")
    with pytest.raises(TinxaError) as refused:
        call(container, "schedule_broadcast", waiting["broadcast_id"], caller=OPERATOR)
    assert type(refused.value).__name__ == "Conflict"


def test_a_priority_bulletin_that_clashes_with_the_communes_high_priority_programme_waits_for_an_order(
        container, sent):
    now = utcnow().astimezone(parse_iso("2026-01-01T00:00:00.000Z").tzinfo)
    from services.broadcast.schedule import local
    at = local(now - timedelta(minutes=1)).replace(second=0, microsecond=0)
    call(container, "save_programme", {
        "id": "thoi-su", "name": "Thời sự sáng", "priority": "high", "target": {"commune": True},
        "items": [{"content_id": "c-1", "title": "Thời sự", "kind": "audio", "duration_seconds": 1800,
                   "media_url": "/media/c-1.mp3"}],
        "when": {"at": at.isoformat(timespec="minutes")}}, caller=OPERATOR)
    held = call(container, "receive_bulletin", bulletin("priority", "P-1"), caller=OPERATOR)
    assert held["state"] == "needs_order" and held["clash"]["programme_id"] == "thoi-su"
    ordered = call(container, "order_bulletin", held["broadcast_id"], "after", caller=OPERATOR)
    assert ordered["state"] == "scheduled" and ordered["scheduled_at"] == held["clash"]["ends_at"]
    other = call(container, "receive_bulletin", bulletin("priority", "P-2"), caller=OPERATOR)
    ordered = call(container, "order_bulletin", other["broadcast_id"], "before", caller=OPERATOR)
    assert ordered["state"] == "sending"
    [command] = wait_until(lambda: [c for c in sent() if c["command_id"] == ordered["command_id"]], message="sent")
    assert command["params"]["priority"] == "high"


# --- CAP ----------------------------------------------------------------------------------------

def cap_document(msg_type, identifier, sent_at, references="", severity="Extreme", area="Thôn 2, xã Xuân Hưng"):
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>pccc@quangninh.gov.vn</sender><sent>{sent_at}</sent>
  <status>Actual</status><msgType>{msg_type}</msgType><scope>Public</scope>{refs}
  <info><language>vi-VN</language><category>Met</category><event>Lũ quét</event>
    <urgency>Immediate</urgency><severity>{severity}</severity><certainty>Observed</certainty>
    <senderName>Ban Chỉ huy PCTT tỉnh</senderName><headline>Cảnh báo lũ quét</headline>
    <description>Mưa lớn gây lũ quét ở thôn 2.</description><instruction>Di chuyển lên vùng cao.</instruction>
    <area><areaDesc>{area}</areaDesc></area></info>
</alert>"""


def test_a_cap_alert_then_update_then_cancel_change_and_then_stop_the_broadcast(container, sent):
    created = call(container, "ingest_cap", cap_document("Alert", "A-1", "2026-11-26T08:00:00+07:00"))
    broadcast = created["broadcast"]
    assert created["action"] == "created" and broadcast["level"] == "emergency" and broadcast["origin"] == "cap"
    assert broadcast["target"] == {"zones": ["thon-2"]} and broadcast["device_count"] == 1
    assert "Di chuyển lên vùng cao." in broadcast["text"]
    wait_until(lambda: [c for c in sent() if c["command_id"] == broadcast["command_id"]], message="alert sent")

    updated = call(container, "ingest_cap", cap_document(
        "Update", "A-2", "2026-11-26T08:30:00+07:00", severity="Moderate", area="Xã Xuân Hưng",
        references="pccc@quangninh.gov.vn,A-1,2026-11-26T08:00:00+07:00"))
    assert updated["action"] == "updated"
    changed = updated["broadcast"]
    assert changed["broadcast_id"] == broadcast["broadcast_id"]
    assert changed["level"] == "priority" and changed["device_count"] == 3 and changed["target"] == {"commune": True}
    stops = wait_until(lambda: [c for c in sent() if c["kind"] == "stop"], message="the old play stopped")
    assert stops[0]["device_ids"] == ["LOA-THON2"]
    [resent] = wait_until(lambda: [c for c in sent() if c["command_id"] == changed["command_id"]], message="update sent")
    # the updated text is spoken afresh, at an address of its own
    assert changed["speech"]["reference"] == changed["content_id"] != broadcast["content_id"]
    assert resent["params"]["media_url"] == f"/p/{C}/speech/{changed['content_id']}" != broadcast["media_url"]

    # the Cancel names the Update: it still finds the broadcast
    cancelled = call(container, "ingest_cap", cap_document(
        "Cancel", "A-3", "2026-11-26T09:00:00+07:00",
        references="pccc@quangninh.gov.vn,A-2,2026-11-26T08:30:00+07:00"))
    assert cancelled["action"] == "cancelled" and cancelled["broadcast"]["state"] == "cancelled"
    wait_until(lambda: len([c for c in sent() if c["kind"] == "stop"]) == 2, message="stopped on every device")
    assert sorted([c for c in sent() if c["kind"] == "stop"][1]["device_ids"]) == LOUDSPEAKERS
    wait_until(lambda: set(states(container, broadcast["broadcast_id"]).values()) == {"failed"},
               message="nothing left to send of the cancelled broadcast")


def test_a_cap_document_with_external_entities_is_refused_readably(container):
    xxe = ('<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>')
    with pytest.raises(TinxaError) as refused:
        call(container, "ingest_cap", xxe)
    assert type(refused.value).__name__ == "InvalidInput" and "CAP" in refused.value.message
    assert call(container, "list_broadcasts", {})["items"] == []


# --- speech of text broadcasts ------------------------------------------------------------------

def speech_rendered(service_config, reference, **outcome):
    """Publish ``content.speech_rendered`` as the content service does."""
    publisher = Publisher(service_config["AMQP_URI"])
    publisher.publish_event("content", "speech_rendered", make_event("content", "speech_rendered", C,
                                                                     reference=reference, **outcome))
    publisher.close()


def speech_of(container, broadcast_id, state):
    speech = call(container, "get_broadcast", broadcast_id)["speech"]
    return speech if speech["state"] == state else None


def test_text_for_loudspeakers_goes_out_at_once_with_its_speech_address_and_the_speech_is_asked_for(
        container, sent, events, service_config):
    created = emergency(container, confirm=True)
    reference = created["content_id"]
    assert created["media_url"] == f"/p/{C}/speech/{reference}" and created["speech"]["state"] == "requested"
    [command] = wait_until(lambda: [c for c in sent() if c.get("device_ids")], message="the fan-out command")
    assert command["params"]["media_url"] == created["media_url"]  # the emergency does not wait for the speech
    [asked] = wait_until(lambda: [e.body for e in events() if e.name == "speech_requested"], message="speech_requested")
    assert asked["reference"] == reference and asked["broadcast_id"] == created["broadcast_id"]
    assert asked["text"] == "Cảnh báo lũ quét.\nNgười dân di chuyển lên vùng cao ngay."
    speech_rendered(service_config, reference, state="ready", media_id="m-speech", format="mp3",
                    duration_seconds=7.4, engine="espeak-ng:vi")
    speech = wait_until(lambda: speech_of(container, created["broadcast_id"], "ready"), message="speech recorded")
    assert speech["media_id"] == "m-speech" and speech["duration_seconds"] == 7.4
    # on air already: its commands keep the length they went out with
    assert call(container, "get_broadcast", created["broadcast_id"])["duration_seconds"] == 30


def test_a_waiting_bulletin_takes_its_speechs_real_length_and_a_failed_speech_is_shown_with_why(
        container, service_config):
    waiting = call(container, "receive_bulletin", bulletin("normal", "S-1"), caller=OPERATOR)
    assert waiting["speech"]["text"] == "Bản tin normal.\nNội dung."
    speech_rendered(service_config, waiting["content_id"], state="ready", media_id="m-s1", format="mp3",
                    duration_seconds=12.3, engine="espeak-ng:vi")
    wait_until(lambda: speech_of(container, waiting["broadcast_id"], "ready"), message="speech recorded")
    assert call(container, "get_broadcast", waiting["broadcast_id"])["duration_seconds"] == 13
    other = call(container, "receive_bulletin", bulletin("normal", "S-2"), caller=OPERATOR)
    speech_rendered(service_config, other["content_id"], state="failed", error="Văn bản chỉ có ký hiệu.")
    failed = wait_until(lambda: speech_of(container, other["broadcast_id"], "failed"), message="failure recorded")
    assert failed["error"] == "Văn bản chỉ có ký hiệu." and failed["media_id"] is None


def test_a_content_item_a_media_address_or_text_for_e_boards_play_as_given_without_speech(container, events):
    played = call(container, "create_broadcast", {"title": "Thời sự", "content_id": "tin-1", "level": "normal"})
    given = call(container, "create_broadcast", {"title": "Nhạc hiệu", "media_url": "/media/nhac.mp3",
                                                  "level": "normal"})
    shown = call(container, "create_broadcast", {"title": "Lịch tiêm", "kind": "text", "text": "Thứ hai, 7h.",
                                                  "level": "normal", "target": {"devices": ["BANGTIN-UBND"]}})
    assert played["media_url"] == f"/p/{C}/media/m-1" and given["media_url"] == "/media/nhac.mp3"
    assert played["speech"] is None and given["speech"] is None and shown["speech"] is None
    wait_until(lambda: len([e for e in events() if e.name == "broadcast_created"]) == 3, message="created")
    assert [e for e in events() if e.name == "speech_requested"] == []


# --- programmes and device schedules -------------------------------------------------------------

def programme(programme_id="sang", priority="normal", hour=6, target=None):
    return {"id": programme_id, "name": f"Chương trình {programme_id}", "priority": priority,
            "target": target or {"commune": True},
            "items": [{"content_id": "c-1", "title": "Bản tin", "kind": "audio", "duration_seconds": 600,
                       "media_url": "/media/c-1.mp3"}],
            "when": {"rrule": f"FREQ=DAILY;BYHOUR={hour};BYMINUTE=0", "start_date": "2026-01-01"}}


def test_a_programme_reaches_every_targeted_device_as_a_versioned_schedule_and_a_clash_is_refused(
        container, sent, service_config):
    saved = call(container, "save_programme", programme(), caller=OPERATOR)
    assert saved["programme"]["device_count"] == 3 and saved["notice"] == ""
    syncs = wait_until(lambda: (lambda found: found if len(found) == 3 else None)(
        [c for c in sent() if c["kind"] == "schedule_sync"]), message="three schedule syncs")
    assert sorted(c["device_id"] for c in syncs) == LOUDSPEAKERS
    assert {c["params"]["version"] for c in syncs} == {syncs[0]["params"]["version"]}
    assert len(syncs[0]["params"]["entries"]) == 2  # today and tomorrow at 06:00
    first = syncs[0]
    answer(service_config, acks=[ack(first["device_id"], first["command_id"], "completed", message="schedule kept")])
    wait_until(lambda: call(container, "device_schedule", first["device_id"])["synced_version"]
               == first["params"]["version"], message="synced")

    with pytest.raises(TinxaError) as refused:
        call(container, "save_programme", programme("trua", hour=6), caller=OPERATOR)
    assert type(refused.value).__name__ == "Conflict" and "Chương trình sang" in refused.value.message
    ordered = call(container, "save_programme", programme("khan", priority="high", hour=6), caller=OPERATOR)
    assert "phát trước" in ordered["notice"]
    calendar = call(container, "calendar", "2026-11-30", "2026-12-06")
    assert len([o for o in calendar["occurrences"] if o["programme_id"] == "sang"]) == 7


# --- proof of play ------------------------------------------------------------------------------

def test_plays_count_once_with_their_true_times_and_the_day_is_reported_to_tasks(container, service_config, events):
    reports = [
        # 07:00–07:10 Vietnam time, then interrupted and resumed 07:05–07:15: 15 minutes of airtime
        {"device_id": "LOA-THON1", "report_id": "r1", "command_id": "", "content_id": "c-1", "title": "Bản tin",
         "slot_id": "sang/x/0/1", "started_at": "2026-11-25T00:00:00.000Z", "ended_at": "2026-11-25T00:10:00.000Z",
         "completed": False},
        {"device_id": "LOA-THON1", "report_id": "r2", "command_id": "", "content_id": "c-1", "title": "Bản tin",
         "slot_id": "sang/x/0/1/resumed", "started_at": "2026-11-25T00:05:00.000Z",
         "ended_at": "2026-11-25T00:15:00.000Z", "completed": True},
        {"device_id": "LOA-THON2", "report_id": "r3", "command_id": "", "content_id": "c-1", "title": "Bản tin",
         "slot_id": "sang/x/0/1", "started_at": "2026-11-25T00:00:00.000Z", "ended_at": "2026-11-25T00:30:00.000Z",
         "completed": True},
    ]
    answer(service_config, reports=reports)
    answer(service_config, reports=reports[2:])  # resent after a lost receipt
    log = wait_until(lambda: (lambda items: items if len(items) == 3 else None)(
        call(container, "play_log", {"date": "2026-11-25"})["items"]), message="three plays")
    assert all(p["late"] for p in log) and {p["programme_id"] for p in log} == {"sang"}
    [day] = call(container, "broadcast_hours", "2026-11-25", "2026-11-25")["days"]
    assert day["devices"] == {"LOA-THON1": 0.25, "LOA-THON2": 0.5} and day["hours"] == 0.75
    assert day["villages"] == {"thon-1": 0.25, "thon-2": 0.5}
    [reported] = wait_until(lambda: [e.body for e in events() if e.name == "hours_reported"], message="hours_reported")
    assert (reported["date"], reported["hours"], reported["plays"]) == ("2026-11-25", 0.75, 3)


def test_a_published_content_item_plays_its_own_audio_and_an_unpublished_one_is_refused(container, sent):
    saved = call(container, "save_programme", {
        "id": "tin", "name": "Thời sự", "target": {"zones": ["thon-1"]}, "priority": "normal",
        "items": [{"content_id": "tin-1", "kind": "audio"}],
        "when": {"rrule": "FREQ=DAILY;BYHOUR=11;BYMINUTE=0", "start_date": "2026-01-01"}}, caller=OPERATOR)
    [item] = saved["programme"]["items"]
    assert (item["media_url"], item["duration_seconds"], item["title"]) == ("/p/xuan-hung/media/m-1", 96, "Thời sự sáng")
    played = call(container, "create_broadcast", {"title": "Phát lại thời sự", "level": "normal",
                                                  "content_id": "tin-1"}, caller=OPERATOR)
    [command] = wait_until(lambda: [c for c in sent() if c["command_id"] == played["command_id"]], message="sent")
    assert command["params"]["media_url"] == "/p/xuan-hung/media/m-1" and command["params"]["duration_seconds"] == 96
    with pytest.raises(TinxaError) as refused:
        call(container, "create_broadcast", {"title": "x", "level": "normal", "content_id": "nhap"}, caller=OPERATOR)
    assert "chưa được xuất bản" in refused.value.message


def test_a_zones_loudspeakers_get_their_volume_in_one_command_and_a_bad_volume_is_refused(container, sent):
    done = call(container, "set_volume", {"zones": ["thon-1", "thon-2"]}, 70, caller=OPERATOR)
    assert done["device_count"] == 2 and done["routed"] is True
    [command] = wait_until(lambda: [c for c in sent() if c["kind"] == "set_volume"], message="the volume command")
    assert command["device_ids"] == ["LOA-THON1", "LOA-THON2"] and command["params"] == {"volume": 70}
    with pytest.raises(TinxaError) as refused:
        call(container, "set_volume", {"commune": True}, 101, caller=OPERATOR)
    assert "volume" in refused.value.message
