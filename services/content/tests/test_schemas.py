"""The boundary: uploads typed by their bytes, sizes, filters and times."""
import pytest

from services.content.schemas import (AudioUploadSchema, CreateItemSchema, ItemFilterSchema, PublishSchema,
                                      UpdateItemSchema, sniff_audio, sniff_image)
from services.content.tests.conftest import JPEG, PDF, PNG, WEBP, b64, tone_wav
from shared.errors import InvalidInput, load

OGG = b"OggS\x00\x02" + b"\x00" * 30
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + b"\x00" * 16
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 30
MP3_ID3 = b"ID3\x04\x00\x00" + b"\x00" * 30


@pytest.mark.parametrize("data, kind", [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"),
                                        (PDF, None), (tone_wav(0.01), None), (b"", None)])
def test_images_are_typed_by_their_bytes(data, kind):
    assert sniff_image(data) == kind


@pytest.mark.parametrize("data, kind", [(MP3_ID3, "audio/mpeg"), (MP3_FRAME, "audio/mpeg"),
                                        (tone_wav(0.01), "audio/wav"), (OGG, "audio/ogg"), (M4A, "audio/mp4"),
                                        (WEBP, None), (PNG, None), (b"", None)])
def test_audio_is_typed_by_its_bytes(data, kind):
    assert sniff_audio(data) == kind


def item(**overrides):
    return {"kind": "news", "section_id": "s1", "title": "Tin", **overrides}


@pytest.mark.parametrize("image, content_type", [
    ({"name": "a.jpg", "content_type": "image/jpg", "content_b64": b64(JPEG)}, "image/jpeg"),  # a common alias
    ({"name": "a", "content_b64": b64(WEBP)}, "image/webp"),  # no declared type: the bytes decide
])
def test_an_image_takes_the_type_of_its_bytes(image, content_type):
    loaded = load(CreateItemSchema, item(new_images=[image]))
    assert loaded["new_images"][0]["content_type"] == content_type


@pytest.mark.parametrize("image, message", [
    ({"name": "a.png", "content_type": "image/png", "content_b64": b64(JPEG)}, "nhưng nội dung là image/jpeg"),
    ({"name": "a.png", "content_b64": b64(PDF)}, "không phải ảnh"),
    ({"name": "a.png", "content_b64": b64(PNG + b"0" * 5 * 1024 * 1024)}, "quá lớn"),
    ({"name": "a.png", "content_b64": ""}, "rỗng"),
    ({"name": "a.png", "content_b64": "@@@"}, "base64"),
])
def test_bad_images_are_refused_with_a_readable_message(image, message):
    with pytest.raises(InvalidInput) as refused:
        load(CreateItemSchema, item(new_images=[image]))
    assert message in refused.value.message


@pytest.mark.parametrize("upload, ok", [
    ({"name": "a.m4a", "content_type": "audio/x-m4a", "content_b64": b64(M4A)}, True),
    ({"name": "a.ogg", "content_b64": b64(OGG)}, True),
    ({"name": "a.mp3", "content_type": "audio/mp3", "content_b64": b64(MP3_FRAME)}, True),
    ({"name": "a.mp3", "content_type": "audio/mpeg", "content_b64": b64(OGG)}, False),
    ({"name": "a.wav", "content_b64": b64(b"RIFF\0\0\0\0WAVE" + b"\0" * (20 * 1024 * 1024))}, False),
])
def test_recordings(upload, ok):
    request = dict(upload, item_id="i1")
    if ok:
        assert load(AudioUploadSchema, request)["content_type"].startswith("audio/")
    else:
        with pytest.raises(InvalidInput):
            load(AudioUploadSchema, request)


@pytest.mark.parametrize("request_, schema", [
    (item(title="  "), CreateItemSchema),
    (item(kind="gossip"), CreateItemSchema),
    (item(channels=["tv"]), CreateItemSchema),
    (item(surprise=1), CreateItemSchema),
    ({"item_id": "i1"}, UpdateItemSchema),  # the revision edited is required
    ({"item_id": "i1", "revision": 1, "title": ""}, UpdateItemSchema),
    ({"status": "lost"}, ItemFilterSchema),
    ({"limit": 1000}, ItemFilterSchema),
    ({"item_id": "i1", "at": "2026-04-15T07:00:00"}, PublishSchema),  # no time zone
    ({"item_id": "i1", "at": "tomorrow"}, PublishSchema),
])
def test_bad_requests_are_refused(request_, schema):
    with pytest.raises(InvalidInput):
        load(schema, request_)


def test_a_publication_time_with_its_zone():
    at = load(PublishSchema, {"item_id": "i1", "at": "2026-04-15T07:00:00+07:00"})["at"]
    assert at.utcoffset().total_seconds() == 7 * 3600
