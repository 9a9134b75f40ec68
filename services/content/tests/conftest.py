"""Fixtures of the content service's tests: the container on the real broker
and store, callers with roles, and small real media files."""
import base64
import io
import math
import struct
import subprocess
import tempfile
import wave
from pathlib import Path

import gridfs
import pytest
from nameko.testing.services import entrypoint_hook

from services.content.service import ContentService
from shared.context import CONTEXT_KEY, Caller
from shared.testing import event_tap

COMMUNE = "xuan-hung"
OTHER = "yen-thang"

# the smallest PNG (1×1, transparent) and the first bytes of a JPEG and a WebP
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def tone_wav(seconds=1.5, rate=16000, frequency=440.0):
    """A real WAV recording (a sine tone), as a phone or recorder would give."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * frequency * i / rate)))
                                 for i in range(int(seconds * rate))))
    return buffer.getvalue()


def recording(fmt, seconds=2.0):
    """A tone recorded as a phone or recorder saves it: wav, mp3, ogg (Opus) or m4a (AAC)."""
    wav = tone_wav(seconds)
    if fmt == "wav":
        return wav
    codec = {"mp3": ["-c:a", "libmp3lame", "-f", "mp3"], "ogg": ["-c:a", "libopus", "-f", "ogg"],
             "m4a": ["-c:a", "aac", "-f", "ipod"]}[fmt]
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.wav", Path(folder) / f"out.{fmt}"
        source.write_bytes(wav)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), *codec, str(target)], check=True, timeout=30)
        return target.read_bytes()


def b64(data):
    return base64.b64encode(data).decode("ascii")


def as_caller(commune_id=COMMUNE, *roles, name="Nguyễn Thị Lan", subject="u1"):
    caller = Caller(subject=subject, commune_id=commune_id, roles=frozenset(roles or ("commune_admin",)), name=name)
    return {CONTEXT_KEY: caller.to_json()}


EDITOR = as_caller(COMMUNE, "editor", name="Trần Văn Biên", subject="editor-1")
APPROVER = as_caller(COMMUNE, "approver", name="Đỗ Văn Duyệt", subject="approver-1")
VIEWER = as_caller(COMMUNE, "viewer", name="Lê Thị Xem", subject="viewer-1")


def call(container, method, *args, context=None, **kwargs):
    with entrypoint_hook(container, method, context_data=context if context is not None else as_caller()) as hook:
        return hook(*args, **kwargs)


def stored_files(database):
    """GridFS files of the media bucket (counted through GridFS, which works on
    both stores; nx-27017 cannot count a GridFS collection directly)."""
    return len(list(gridfs.GridFSBucket(database, bucket_name="media").find({})))


@pytest.fixture
def content_config(service_config):
    return dict(service_config, TTS_ENGINE="espeak", TTS_VOICE="vi", TTS_RATE=175, TTS_TIMEOUT_SECONDS=60,
                TTS_MAX_CHARS=20000, AUDIO_FORMAT="mp3", AUDIO_SAMPLE_RATE=22050, AUDIO_BITRATE="64k")


@pytest.fixture
def container(container_factory, content_config):
    container = container_factory(ContentService, content_config)
    container.start()
    return container


@pytest.fixture
def events(service_config):
    with event_tap(service_config["AMQP_URI"], "content") as tap:
        yield tap


@pytest.fixture
def section(container):
    """The seeded "Chuyển đổi số" section of the commune."""
    return next(s for s in call(container, "list_sections") if s["name"] == "Chuyển đổi số")
