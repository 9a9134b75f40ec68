"""The content service (nội dung): everything the commune says — written,
approved, spoken and published on its channels.

The RPC contract is in ``API.md`` beside this file.
"""
import base64
import logging
from datetime import timedelta, timezone

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer

from services.content import domain
from services.content.repository import ItemRepository, MediaRepository, SectionRepository, SpeechRepository
from services.content.schemas import (ApproveSchema, AudioUploadSchema, CreateItemSchema, ItemActionSchema,
                                      ItemFilterSchema, ItemRefSchema, PublishSchema, SectionCreateSchema,
                                      SectionRefSchema, SectionRenameSchema, UpdateItemSchema)
from services.content.speech import SpeechError, Studio
from shared.context import READ_ROLES, CallerContext
from shared.errors import CALLER_ERRORS, InvalidInput, NotFound, load
from shared.handlers import event_handler
from shared.mongo import Store
from shared.observability import Observability
from shared.timeutil import iso, utcnow

log = logging.getLogger(__name__)

EDIT_ROLES = ("commune_admin", "editor")
REVIEW_ROLES = ("commune_admin", "approver")
AUDIO_ROLES = EDIT_ROLES + ("approver",)
ADMIN_ROLES = ("commune_admin",)


class Speech(DependencyProvider):
    """The TTS engine and audio encoder configured for this process
    (``TTS_*``, ``AUDIO_*``, ``*_BINARY`` in the config)."""

    def setup(self):
        self.studio = Studio.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.studio


def _actor(caller):
    return caller.name or caller.subject


def _number(value):
    """A revision number given as an RPC argument."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise InvalidInput(f"Số bản sửa không hợp lệ: «{value}».")
    return int(value)


class ContentService:
    name = "content"

    caller = CallerContext()
    config = Config()
    sections = Store(SectionRepository)
    items = Store(ItemRepository)
    media = Store(MediaRepository)
    speeches = Store(SpeechRepository)
    speech = Speech()
    observability = Observability()

    # ------------------------------------------------------------ sections

    def _seeded(self, commune_id):
        """The commune, its sections seeded on first use."""
        self.sections.ensure_seeded(commune_id, domain.seed_sections(commune_id, iso()))
        return commune_id

    def _section_names(self, commune_id):
        return self.sections.names(self._seeded(commune_id))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_sections(self, commune_id=None, include_inactive=False):
        caller = self.caller.current().require(*READ_ROLES)
        commune_id = self._seeded(caller.commune_for(commune_id))
        return self.sections.list(commune_id, include_inactive=bool(include_inactive))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def create_section(self, request):
        caller = self.caller.current().require(*ADMIN_ROLES)
        data = load(SectionCreateSchema, request)
        commune_id = self._seeded(caller.commune_for(data["commune_id"]))
        section = domain.new_section(commune_id, data["name"], self.sections.next_order(commune_id), iso())
        return self.sections.add(section)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def rename_section(self, request):
        caller = self.caller.current().require(*ADMIN_ROLES)
        data = load(SectionRenameSchema, request)
        name = domain.clean_name(data["name"])
        return self.sections.update(caller.commune_for(data["commune_id"]), data["section_id"],
                                    {"name": name, "name_folded": domain.fold(name)})

    @rpc(expected_exceptions=CALLER_ERRORS)
    def deactivate_section(self, request):
        caller = self.caller.current().require(*ADMIN_ROLES)
        data = load(SectionRefSchema, request)
        return self.sections.update(caller.commune_for(data["commune_id"]), data["section_id"], {"active": False})

    # ------------------------------------------------------------ items

    def _store_images(self, commune_id, item_id, revision, uploads, actor):
        """Store uploaded images; returns their ids (the caller deletes them if
        the item cannot be written)."""
        stored = []
        try:
            for upload in uploads:
                media_id = domain.new_id()
                self.media.store(domain.media_document(media_id, commune_id, item_id, "image", upload["name"],
                                                       upload["content_type"], len(upload["content_b64"]), actor,
                                                       revision), upload["content_b64"])
                stored.append(media_id)
        except Exception:
            self.media.delete(stored)
            raise
        return stored

    @rpc(expected_exceptions=CALLER_ERRORS)
    def create_item(self, request):
        """A new draft; its images are stored first and removed again if the
        item cannot be saved."""
        caller = self.caller.current().require(*EDIT_ROLES)
        data = load(CreateItemSchema, request)
        commune_id = caller.commune_for(data.pop("commune_id"))
        uploads = data.pop("new_images")
        names = self._section_names(commune_id)
        section = self.sections.find(commune_id, data["section_id"])
        actor = _actor(caller)
        item_id = domain.new_id()
        domain.new_item(item_id, commune_id, data, section, actor)  # refuses bad input before any file is stored
        stored = self._store_images(commune_id, item_id, 1, uploads, actor)
        try:
            item = domain.new_item(item_id, commune_id, dict(data, image_media_ids=stored), section, actor)
            return domain.view(self.items.add(item), names)
        except Exception:
            self.media.delete(stored)
            raise

    @rpc(expected_exceptions=CALLER_ERRORS)
    def update_item(self, request):
        """A new revision of the item (see API.md for what it does to the status)."""
        caller = self.caller.current().require(*EDIT_ROLES)
        data = load(UpdateItemSchema, request)
        commune_id = caller.commune_for(data.pop("commune_id"))
        item = self.items.get(commune_id, data.pop("item_id"))
        if data.pop("revision") != item["revision"]:
            raise self.items.Conflict(f"Bản tin đã có bản sửa mới hơn ({item['revision']}); vui lòng tải lại "
                                      "trước khi sửa.", {"revision": item["revision"]})
        uploads = data.pop("new_images")
        names = self._section_names(commune_id)
        section = self.sections.find(commune_id, data.get("section_id") or item["section_id"])
        actor = _actor(caller)
        placeholders = [f"upload-{i}" for i in range(len(uploads))]
        domain.edit(item, data, section, actor, placeholders)  # refuses bad input before any file is stored
        stored = self._store_images(commune_id, item["_id"], item["revision"] + 1, uploads, actor)
        try:
            change = domain.edit(item, data, section, actor, stored)
            if change is None:
                return domain.view(item, names)
            return domain.view(self.items.apply(item, change), names)
        except Exception:
            self.media.delete(stored)
            raise

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_item(self, item_id, commune_id=None):
        caller = self.caller.current().require(*READ_ROLES)
        commune_id = caller.commune_for(commune_id)
        return domain.detail(self.items.get(commune_id, item_id), self._section_names(commune_id))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_items(self, filters=None):
        caller = self.caller.current().require(*READ_ROLES)
        query = load(ItemFilterSchema, filters or {})
        commune_id = caller.commune_for(query.pop("commune_id"))
        if query["q"]:
            query["q"] = domain.fold(query["q"]).strip()
        items, total = self.items.find(commune_id, **query)
        names = self._section_names(commune_id)
        return {"items": [domain.view(i, names) for i in items], "total": total,
                "offset": query["offset"], "limit": query["limit"]}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_revision(self, item_id, number, commune_id=None):
        caller = self.caller.current().require(*READ_ROLES)
        return domain.revision_of(self.items.get(caller.commune_for(commune_id), item_id), _number(number))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def diff_revisions(self, item_id, from_revision, to_revision, commune_id=None):
        caller = self.caller.current().require(*READ_ROLES)
        item = self.items.get(caller.commune_for(commune_id), item_id)
        return domain.diff(item, _number(from_revision), _number(to_revision))

    # ------------------------------------------------------------ workflow

    def _act(self, schema, request, roles, decide):
        caller = self.caller.current().require(*roles)
        data = load(schema, request)
        commune_id = caller.commune_for(data["commune_id"])
        item = self.items.get(commune_id, data["item_id"])
        names = self._section_names(commune_id)
        change = decide(item, data, caller, names)
        return domain.view(self.items.apply(item, change), names)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def submit_item(self, request):
        return self._act(ItemActionSchema, request, EDIT_ROLES,
                         lambda item, data, caller, names: domain.submit(item, _actor(caller), data["comment"]))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def approve_item(self, request):
        return self._act(ApproveSchema, request, REVIEW_ROLES, lambda item, data, caller, names: domain.approve(
            item, _actor(caller), caller.subject, data["comment"], data["revision"]))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def return_item(self, request):
        return self._act(ItemActionSchema, request, REVIEW_ROLES, lambda item, data, caller, names: domain.return_(
            item, _actor(caller), caller.subject, data["comment"]))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def publish_item(self, request):
        def decide(item, data, caller, names):
            at = iso(data["at"].astimezone(timezone.utc)) if data["at"] else None
            return domain.publish(item, _actor(caller), caller.subject, names.get(item["section_id"], ""), at)
        return self._act(PublishSchema, request, REVIEW_ROLES, decide)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def unschedule_item(self, request):
        return self._act(ItemRefSchema, request, REVIEW_ROLES,
                         lambda item, data, caller, names: domain.unschedule(item, _actor(caller)))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def archive_item(self, request):
        return self._act(ItemActionSchema, request, REVIEW_ROLES, lambda item, data, caller, names: domain.archive(
            item, _actor(caller), caller.subject, data["comment"]))

    @timer(interval=15)
    def publish_due(self):
        """Publish scheduled items whose time has come. Several replicas may
        run this at once: the write is a compare-and-set on status and
        revision, so each item is published (and announced) once."""
        now = iso()
        names = {}
        for item in self.items.due(now):
            commune_names = names.setdefault(item["commune_id"], self.sections.names(item["commune_id"]))
            change = domain.publish_due(item, commune_names.get(item["section_id"], ""), now)
            if change is not None and self.items.try_apply(item, change) is None:
                log.info("scheduled item %s was published or changed by someone else", item["_id"])

    # ------------------------------------------------------------ audio

    @rpc(expected_exceptions=CALLER_ERRORS)
    def request_audio(self, request):
        """Ask for the item's text read aloud. The text is checked now; the
        rendering runs in the background (``content.audio_requested``)."""
        caller = self.caller.current().require(*AUDIO_ROLES)
        data = load(ItemRefSchema, request)
        commune_id = caller.commune_for(data["commune_id"])
        item = self.items.get(commune_id, data["item_id"])
        try:
            self.speech.prepare(domain.spoken_text(item))
        except SpeechError as err:
            raise InvalidInput(err.message) from err
        now = utcnow()
        cutoff = iso(now - timedelta(seconds=float(self.config.get("AUDIO_RENDER_LEASE_SECONDS", 900))))
        change = domain.request_audio(item, _actor(caller), caller.subject, iso(now), cutoff)
        return domain.view(self.items.apply(item, change), self._section_names(commune_id))

    @event_handler(domain.SOURCE, "audio_requested")
    def render_audio(self, event):
        """The background job: speak the requested revision, encode it, store
        it, and make it the item's audio if the job is still the current one."""
        item = self.items.get(event["commune_id"], event["item_id"])
        if item.get("audio_job") != event["job_id"]:
            log.info("audio job %s of item %s was superseded", event["job_id"], item["_id"])
            return
        item = self.items.try_apply(item, domain.audio_started(item, event["job_id"], iso()))
        if item is None:
            return
        fields = domain.revision_of(item, event["revision"])["fields"]
        try:
            rendered = self.speech.render(self.speech.prepare(domain.spoken_text(fields)))
        except SpeechError as err:
            log.warning("rendering audio of item %s failed: %s", item["_id"], err.message)
            self.items.try_apply(item, domain.audio_failed(item, event["job_id"], err.message, iso()))
            return
        media = self._store_audio(item, rendered, event["revision"], self.speech.engine.name, "tts", "system")
        if self.items.try_apply(item, domain.audio_finished(item, event["job_id"], media, iso())) is None:
            self.media.delete([media["_id"]])

    def _store_audio(self, item, rendered, revision, engine, source, actor, name=None):
        media_id = domain.new_id()
        name = name or f"{domain.slugify(item['title']) or 'ban-tin'}-r{revision}.{rendered.format}"
        meta = domain.media_document(media_id, item["commune_id"], item["_id"], "audio", name, rendered.content_type,
                                     len(rendered.data), actor, revision, format=rendered.format,
                                     duration_seconds=rendered.duration_seconds, engine=engine, source=source)
        return self.media.store(meta, rendered.data)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def upload_audio(self, request):
        """A recorded bulletin: transcoded to the device format and made the
        item's audio; the file is removed again if the item cannot take it."""
        caller = self.caller.current().require(*EDIT_ROLES)
        data = load(AudioUploadSchema, request)
        commune_id = caller.commune_for(data["commune_id"])
        item = self.items.get(commune_id, data["item_id"])
        if item["status"] == "archived":
            raise self.items.Conflict("Bản tin đã lưu trữ; không thể thêm âm thanh.")
        try:
            rendered = self.speech.transcode(data["content_b64"])
        except SpeechError as err:
            raise InvalidInput(f"Không dùng được tệp «{data['name']}»: {err.message}") from err
        actor = _actor(caller)
        media = self._store_audio(item, rendered, item["revision"], "upload", "upload", actor, data["name"])
        try:
            change = domain.attach_recording(item, media, actor, caller.subject, iso())
            return domain.view(self.items.apply(item, change), self._section_names(commune_id))
        except Exception:
            self.media.delete([media["_id"]])
            raise

    # ------------------------------------------------------------ speech of broadcasts

    @event_handler("broadcast", "speech_requested")
    def render_speech(self, event):
        """A broadcast of text for loudspeakers: speak it, encode it, store it,
        and say so (``content.speech_rendered``). Idempotent per commune and
        reference; text the engine cannot speak is recorded as failed, with
        the officer's message, rather than retried."""
        commune_id, reference = event["commune_id"], event["reference"]
        claimed = self.speeches.claim(commune_id, reference, event["broadcast_id"], iso())
        if claimed["state"] != "rendering":
            return
        try:
            rendered = self.speech.render(self.speech.prepare(event["text"]))
        except SpeechError as err:
            log.warning("speech for broadcast %s failed: %s", event["broadcast_id"], err.message)
            self.speeches.finish(commune_id, reference, {"state": "failed", "error": err.message, "finished_at": iso()},
                                 [domain.speech_rendered_event(commune_id, reference, error=err.message)])
            return
        media = domain.speech_media(domain.new_id(), commune_id, reference, event["title"], rendered,
                                    self.speech.engine.name)
        self.media.store(media, rendered.data)
        done = self.speeches.finish(commune_id, reference,
                                    {"state": "ready", "media_id": media["_id"], "finished_at": iso(),
                                     "duration_seconds": media["duration_seconds"]},
                                    [domain.speech_rendered_event(commune_id, reference, media)])
        if done is None:
            self.media.delete([media["_id"]])

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_speech(self, reference, commune_id):
        """The speech of a broadcast, public like the loudspeakers that play
        it: ``{state, reference, duration_seconds, error, media}``, where
        ``media`` (with its bytes) is there only once ``state`` is ready."""
        if not commune_id or not isinstance(commune_id, str) or not isinstance(reference, str) or not reference:
            raise InvalidInput("Cần nêu xã (commune_id) và mã giọng đọc (reference).")
        speech = self.speeches.get(commune_id, reference)
        out = {k: speech.get(k) for k in ("state", "reference", "duration_seconds", "error")}
        if speech["state"] == "ready":
            meta = self.media.get(commune_id, speech["media_id"])
            out["media"] = dict(meta, content_b64=base64.b64encode(self.media.read(meta["_id"])).decode("ascii"))
        return out

    # ------------------------------------------------------------ media and feed

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_media(self, media_id, commune_id=None, public=False):
        """A media file with its bytes. ``public=True`` (no caller needed) reads
        only what a live item's published version shows."""
        if public:
            if not commune_id:
                raise InvalidInput("Cần nêu xã (commune_id) để đọc tệp công khai.")
            meta = self.media.get(commune_id, media_id)
            try:
                item = self.items.get(commune_id, meta["item_id"]) if meta.get("item_id") else None
            except NotFound:
                item = None
            if item is None or not domain.publicly_readable(item, media_id):
                raise NotFound("Không tìm thấy tệp.", {"media_id": media_id})
        else:
            caller = self.caller.current().require(*READ_ROLES)
            meta = self.media.get(caller.commune_for(commune_id), media_id)
        return dict(meta, content_b64=base64.b64encode(self.media.read(media_id)).decode("ascii"))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def recent_publications(self, limit=5, commune_id=None):
        """The commune's latest publications (its live items, on any channel) as published."""
        caller = self.caller.current().require(*READ_ROLES)
        commune_id = caller.commune_for(commune_id)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 50:
            raise InvalidInput("Số bản tin (limit) phải là số nguyên từ 1 đến 50.")
        names = self._section_names(commune_id)
        return [domain.publication_entry(item, names) for item in self.items.recently_published(commune_id, limit)]

    @rpc(expected_exceptions=CALLER_ERRORS)
    def feed_items(self, commune_id, limit=20):
        """The commune's live website/social items as published: public data."""
        if not commune_id or not isinstance(commune_id, str):
            raise InvalidInput("Cần nêu xã (commune_id).")
        try:
            limit = int(limit)
        except (TypeError, ValueError):
            raise InvalidInput("Số bản tin (limit) phải là số nguyên từ 1 đến 100.") from None
        if not 1 <= limit <= 100:
            raise InvalidInput("Số bản tin (limit) phải là số nguyên từ 1 đến 100.")
        return [domain.feed_entry(item) for item in self.items.feed(commune_id, limit)]
