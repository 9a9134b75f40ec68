"""What the broadcast service plays from the content service (nội dung đã
xuất bản): a published, live item's audio for loudspeakers, its text for
e-boards — the rules, with no I/O.

Devices fetch audio from the commune's public media address
(``/p/<commune>/media/<media_id>`` on the gateway), which serves only media
of live published items; an item that is not published, or has no audio for
the radio, cannot be broadcast.
"""
import math

from shared.errors import InvalidInput

DEFAULT_SECONDS = 60


def playable(item, commune_id, kind):
    """``{title, text, media_url, duration_seconds}`` of a content item (as the
    content service's ``get_item`` gives it) for ``kind`` audio|text|image."""
    version = item.get("published")
    title = (version or {}).get("title") or item.get("title") or item.get("_id")
    if not item.get("live") or version is None:
        raise InvalidInput(f"content_id: nội dung «{title}» chưa được xuất bản (hoặc đã gỡ), chưa phát được.")
    text = version.get("summary") or version.get("title") or ""
    if kind != "audio":
        return {"title": title, "text": text, "media_url": "", "duration_seconds": DEFAULT_SECONDS}
    media_id = version.get("audio_media_id")
    if not media_id:
        raise InvalidInput(f"content_id: nội dung «{title}» chưa có âm thanh (bản đọc hoặc bản ghi âm) để phát trên loa.")
    audio = item.get("audio") or {}
    seconds = audio.get("duration_seconds") if audio.get("media_id") == media_id else None
    return {"title": title, "text": text, "media_url": f"/p/{commune_id}/media/{media_id}",
            "duration_seconds": max(1, math.ceil(seconds)) if seconds else DEFAULT_SECONDS}
