"""Speech for broadcasts (giọng đọc của bản tin phát): the broadcast service's
``speech_requested`` events published on the real broker, spoken by the real
espeak-ng and ffmpeg, served publicly by reference, answered with
``content.speech_rendered`` — once per reference, whatever the redeliveries."""
import base64
import uuid

import pytest

from services.content.tests.conftest import COMMUNE, OTHER, call, stored_files
from services.content.tests.test_service import ffprobe
from shared.bus import Publisher
from shared.errors import InvalidInput, NotFound
from shared.events import make_event
from shared.testing import wait_until

TEXT = "Cảnh báo lũ quét.\nMưa lớn từ 20h ngày 26/11/2026; người dân thôn 2 di chuyển lên vùng cao ngay."


def request_speech(service_config, reference, text=TEXT, commune_id=COMMUNE):
    """Publish ``broadcast.speech_requested`` as the broadcast service does."""
    publisher = Publisher(service_config["AMQP_URI"])
    try:
        publisher.publish_event("broadcast", "speech_requested", make_event(
            "broadcast", "speech_requested", commune_id, broadcast_id=uuid.uuid4().hex, title="Cảnh báo lũ quét",
            level="emergency", reference=reference, text=text))
    finally:
        publisher.close()


def rendered(events, reference):
    return [e.body for e in events() if e.name == "speech_rendered" and e.body["reference"] == reference]


def settled(container, reference):
    speech = call(container, "get_speech", reference, COMMUNE, context={})
    return speech if speech["state"] != "rendering" else None


def test_a_broadcasts_text_is_spoken_into_an_mp3_anyone_may_fetch_by_its_reference(
        container, events, service_config, tmp_path):
    reference = f"broadcast-{uuid.uuid4().hex}"
    request_speech(service_config, reference)
    [event] = wait_until(lambda: rendered(events, reference), timeout=60, message="speech_rendered")
    assert event["state"] == "ready" and event["engine"] == "espeak-ng:vi" and event["format"] == "mp3"
    speech = call(container, "get_speech", reference, COMMUNE, context={})  # no caller: loudspeakers fetch it
    assert speech["state"] == "ready" and speech["duration_seconds"] == event["duration_seconds"]
    media = speech["media"]
    assert media["_id"] == event["media_id"] and media["content_type"] == "audio/mpeg"
    assert media["item_id"] is None and media["reference"] == reference and media["purpose"] == "broadcast"
    stream, duration = ffprobe(base64.b64decode(media["content_b64"]), tmp_path)
    assert stream["codec_name"] == "mp3" and abs(duration - event["duration_seconds"]) < 0.2
    assert duration > 3  # a sentence and a half of speech, not a click
    # it is the commune's: another commune's address does not reach it
    with pytest.raises(NotFound):
        call(container, "get_speech", reference, OTHER, context={})


def test_a_request_delivered_twice_is_spoken_once(container, events, service_config, mongo_database):
    before = stored_files(mongo_database)
    reference = f"broadcast-{uuid.uuid4().hex}"
    request_speech(service_config, reference)
    request_speech(service_config, reference)
    wait_until(lambda: settled(container, reference), timeout=60, message="spoken")
    wait_until(lambda: len(rendered(events, reference)) >= 1, message="speech_rendered")
    # the second delivery finds the speech ready (or loses the race to finish it and removes its file)
    wait_until(lambda: stored_files(mongo_database) == before + 1, timeout=30, message="one file kept")
    assert len(rendered(events, reference)) == 1


def test_text_with_nothing_to_speak_is_recorded_as_failed_with_the_reason(container, events, service_config,
                                                                          mongo_database):
    before = stored_files(mongo_database)
    reference = f"broadcast-{uuid.uuid4().hex}"
    request_speech(service_config, reference, text="!!! ??? ...")
    [event] = wait_until(lambda: rendered(events, reference), timeout=60, message="speech_rendered")
    assert event["state"] == "failed" and "ký hiệu" in event["error"] and event["media_id"] is None
    speech = call(container, "get_speech", reference, COMMUNE, context={})
    assert speech["state"] == "failed" and "media" not in speech and speech["error"] == event["error"]
    assert stored_files(mongo_database) == before


@pytest.mark.parametrize("reference, commune_id", [("", COMMUNE), ("x", ""), (None, COMMUNE), ("x", 7)])
def test_asking_for_speech_without_a_reference_or_a_commune_is_refused(container, reference, commune_id):
    with pytest.raises(InvalidInput):
        call(container, "get_speech", reference, commune_id, context={})


def test_an_unknown_reference_is_not_found(container):
    with pytest.raises(NotFound, match="giọng đọc"):
        call(container, "get_speech", "broadcast-none", COMMUNE, context={})
