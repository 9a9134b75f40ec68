"""Telemetry ingestion (thu nhận số liệu đo): samples checked, buffered per
device and written in batches. The DeviceLink streams and the MQTT consumer
both feed it, so a sample is stored the same way whichever way it came.

Why batches: the store's cost is per operation and per stored field, not per
request (nx-27017: ~20k samples/s by ``insert_many``, ~10k updates/s by
``bulk_write``). Every ``TELEMETRY_FLUSH_SECONDS`` the writer takes what
every device sent since the last flush and makes two calls: one
``insert_many`` of bucket documents, one ``bulk_write`` of ``device_state``
updates. Buckets are insert-only: updating a document that grows costs its
whole size on every write. So each flush writes, per device, one document
per bucket period its samples fall in (``_id`` ``<key>/<start>/<first_seq>``),
and a period's samples are spread over one document per flush; readers
gather a period from all of them. A flush that takes longer than the interval is
followed at once by the next, which then carries more samples in the same
number of documents, so the writer keeps up by itself.

A sample whose ``seq`` is at or below the device's stored one, or already
waiting in its buffer, is skipped: devices resend after a reconnect.
Whoever handed samples in is told once they are stored (the stream sends a
``TelemetryAck``, the MQTT consumer acks the message), never before.
"""
import asyncio
import logging
import time
from datetime import datetime, timezone

from prometheus_client import Counter, Histogram

from shared.errors import InvalidInput

log = logging.getLogger(__name__)

SAMPLES_RECEIVED = Counter("tinxa_telemetry_samples_received_total", "Samples received from devices", ["transport"])
SAMPLES_STORED = Counter("tinxa_telemetry_samples_stored_total", "Samples written to telemetry buckets")
SAMPLES_SKIPPED = Counter("tinxa_telemetry_samples_skipped_total",
                          "Samples ignored because they were already stored or buffered (resent)")
FLUSH_SECONDS = Histogram("tinxa_telemetry_flush_seconds", "Time to write one batch of buckets and device states",
                          buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8))
FLUSH_FAILURES = Counter("tinxa_telemetry_flush_failures_total", "Batches the store did not take")

# Enum values as stored, indexed by the proto enum number (0: unset).
CONNECTIONS = (None, "ethernet", "wifi", "cellular", "fm_link")
PLAYBACK = (None, "idle", "playing")
POWER_SOURCES = (None, "mains", "battery", "solar")
SPEAKER_LINES = (None, "ok", "open_circuit", "short_circuit")
SCREENS = (None, "on", "off")

MAX_FUTURE_SECONDS = 300
# A clock that never synchronised reads 1970; such times would land in
# buckets no chart ever shows.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp()
MAX_SEQ = 2**63 - 1  # BSON integers are signed 64-bit
TEXT_LIMITS = {"playing_content_id": 128, "playing_title": 500}

# field: (low, high, what it is, unit) — also rejects NaN and infinities
RANGES = {
    "volume": (0, 100, "âm lượng", ""),
    "brightness": (0, 100, "độ sáng", ""),
    "signal_dbm": (-150, 0, "cường độ tín hiệu", " dBm"),
    "mains_voltage": (0, 500, "điện áp lưới", " V"),
    "battery_voltage": (0, 100, "điện áp ắc quy", " V"),
    "temperature_c": (-50, 150, "nhiệt độ", " °C"),
}
INTEGER_FIELDS = ("signal_dbm", "volume", "brightness")
DECIMAL_FIELDS = ("mains_voltage", "battery_voltage", "temperature_c")
ENUM_FIELDS = {
    "connection": CONNECTIONS,
    "playback": PLAYBACK,
    "power_source": POWER_SOURCES,
    "speaker_line": SPEAKER_LINES,
    "screen": SCREENS,
}
FIELDS = ("seq", "sampled_at", "received_at", "connection", "signal_dbm", "volume", "playback",
          "playing_content_id", "playing_title", "power_source", "mains_voltage", "battery_voltage",
          "temperature_c", "speaker_line", "brightness", "screen", "slot_active")


class InvalidSample(InvalidInput):
    """A sample the device must fix; ends its stream or rejects its message."""

    def __init__(self, seq, problem):
        where = f"seq {seq}" if isinstance(seq, int) and not isinstance(seq, bool) else "không rõ seq"
        super().__init__(f"Mẫu đo không hợp lệ ({where}) — {problem}")


_SECOND_TEXTS = {}


def _second_text(seconds):
    """``YYYY-MM-DDTHH:MM:SS`` of an epoch second, cached: the samples of
    one moment from thousands of devices share it."""
    text = _SECOND_TEXTS.get(seconds)
    if text is None:
        if len(_SECOND_TEXTS) > 4096:
            _SECOND_TEXTS.clear()
        text = _SECOND_TEXTS[seconds] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return text


def iso_from_epoch(seconds, millis=0):
    """The same text as ``shared.timeutil.iso`` for an epoch second and milliseconds."""
    return f"{_second_text(seconds)}.{millis:03d}Z"


def iso_at(moment):
    """``iso_from_epoch`` of a ``time.time()`` value."""
    return iso_from_epoch(int(moment), int(moment * 1000) % 1000)


def _check_time(seq, epoch, latest):
    if epoch > latest:
        raise InvalidSample(seq, f"sampled_at: thời điểm đo ở tương lai ({iso_from_epoch(int(epoch))}); "
                                 "kiểm tra đồng hồ thiết bị")
    if epoch < EARLIEST:
        raise InvalidSample(seq, "sampled_at: thời điểm đo trước năm 2000; đồng hồ thiết bị chưa được đồng bộ")


def _check_ranges(sample):
    for name, low, high, what, unit in _RANGES:
        value = sample[name]
        if value is not None and not low <= value <= high:
            raise InvalidSample(sample["seq"], f"{name}: {what} phải từ {low} đến {high}{unit} (nhận {value})")
    for name, limit in _TEXT_LIMITS:
        value = sample[name]
        if value is not None and len(value) > limit:
            raise InvalidSample(sample["seq"], f"{name}: dài quá {limit} ký tự")


_RANGES = tuple((name, *bounds) for name, bounds in RANGES.items())
_TEXT_LIMITS = tuple(TEXT_LIMITS.items())


def _check_seq(seq, previous):
    if not 0 < seq <= MAX_SEQ:
        raise InvalidSample(seq, f"seq: số thứ tự phải là số nguyên dương (nhận {seq})")
    if seq <= previous:
        raise InvalidSample(seq, f"seq: số thứ tự phải tăng dần trong một lô (seq {seq} sau seq {previous})")


# proto enum number -> stored value; proto3 enums are open, so a device may
# send a number no table has
_UNKNOWN = object()
_CONNECTION_OF, _PLAYBACK_OF, _POWER_SOURCE_OF, _SPEAKER_LINE_OF, _SCREEN_OF = (
    dict(enumerate(values)) for values in ENUM_FIELDS.values())


def _unknown_enum(pb):
    for name, values in ENUM_FIELDS.items():
        number = getattr(pb, name)
        if not 0 <= number < len(values):
            raise InvalidSample(pb.seq, f"{name}: giá trị không hợp lệ (nhận {number})")


def samples_from_proto(samples, received_at, now):
    """``[(epoch_second, sample_dict)]`` from a ``TelemetryBatch``'s samples,
    or InvalidSample naming the first problem. ``received_at`` is the ISO
    text stored with each; ``now`` (epoch seconds) bounds ``sampled_at``.

    The hottest code of the edge (every sample of every device): checks
    are inline, and the helpers only run to name a problem.
    """
    latest = now + MAX_FUTURE_SECONDS
    out = []
    previous = 0
    for pb in samples:
        seq = pb.seq
        if not previous < seq <= MAX_SEQ:
            _check_seq(seq, previous)
        previous = seq
        if not pb.HasField("sampled_at"):
            raise InvalidSample(seq, "sampled_at: thiếu thời điểm đo")
        stamp = pb.sampled_at
        seconds = stamp.seconds
        if not EARLIEST <= seconds <= latest:
            _check_time(seq, seconds, latest)
        has = pb.HasField
        sample = {
            "seq": seq,
            "sampled_at": f"{_SECOND_TEXTS.get(seconds) or _second_text(seconds)}.{stamp.nanos // 1_000_000:03d}Z",
            "received_at": received_at,
            "connection": _CONNECTION_OF.get(pb.connection, _UNKNOWN),
            "signal_dbm": pb.signal_dbm if has("signal_dbm") else None,
            "volume": pb.volume if has("volume") else None,
            "playback": _PLAYBACK_OF.get(pb.playback, _UNKNOWN),
            "playing_content_id": pb.playing_content_id or None,
            "playing_title": pb.playing_title or None,
            "power_source": _POWER_SOURCE_OF.get(pb.power_source, _UNKNOWN),
            # proto floats are 32-bit: 220.1 arrives as 220.10000610351562
            "mains_voltage": round(pb.mains_voltage, 2) if has("mains_voltage") else None,
            "battery_voltage": round(pb.battery_voltage, 2) if has("battery_voltage") else None,
            "temperature_c": round(pb.temperature_c, 2) if has("temperature_c") else None,
            "speaker_line": _SPEAKER_LINE_OF.get(pb.speaker_line, _UNKNOWN),
            "brightness": pb.brightness if has("brightness") else None,
            "screen": _SCREEN_OF.get(pb.screen, _UNKNOWN),
            "slot_active": pb.slot_active,
        }
        if _UNKNOWN in (sample["connection"], sample["playback"], sample["power_source"], sample["speaker_line"],
                        sample["screen"]):
            _unknown_enum(pb)
        _check_ranges(sample)
        out.append((seconds, sample))
    return out


def _json_time(seq, value):
    if value is None:
        raise InvalidSample(seq, "sampled_at: thiếu thời điểm đo")
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidSample(seq, "sampled_at: phải là thời điểm ISO-8601 có múi giờ, "
                                 "ví dụ 2026-11-26T13:50:44.693Z")
    return moment.timestamp()


def _json_number(seq, name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidSample(seq, f"{name}: phải là số (nhận {value!r})")
    if name in INTEGER_FIELDS:
        if isinstance(value, float) and not value.is_integer():
            raise InvalidSample(seq, f"{name}: phải là số nguyên (nhận {value!r})")
        return int(value)
    return round(float(value), 2)


def _json_choice(seq, name, value):
    if value is None or value in ENUM_FIELDS[name]:
        return value
    choices = ", ".join(v for v in ENUM_FIELDS[name] if v)
    raise InvalidSample(seq, f"{name}: phải là một trong {choices} hoặc null (nhận {value!r})")


def _json_text(seq, name, value):
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidSample(seq, f"{name}: phải là chuỗi (nhận {value!r})")
    return value


def sample_items(payload):
    """The samples of an MQTT message: one object, or ``{"samples": [...]}``."""
    if isinstance(payload, dict) and "samples" in payload and "seq" not in payload:
        items = payload["samples"]
        if not isinstance(items, list) or not items:
            raise InvalidSample(None, "samples: phải là một danh sách mẫu đo không rỗng")
        return items
    if isinstance(payload, dict):
        return [payload]
    raise InvalidSample(None, 'tin nhắn phải là một mẫu đo (đối tượng JSON) hoặc {"samples": [...]}')


def samples_from_json(payload, received_at, now):
    """As ``samples_from_proto``, for an MQTT JSON payload whose field names
    are those of a stored sample (API.md). Unknown fields are ignored, so an
    older edge accepts a newer firmware's samples."""
    latest = now + MAX_FUTURE_SECONDS
    out = []
    previous = 0
    for item in sample_items(payload):
        if not isinstance(item, dict):
            raise InvalidSample(None, f"mỗi mẫu đo phải là một đối tượng JSON (nhận {item!r})")
        seq = item.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int):
            raise InvalidSample(None, f"seq: số thứ tự phải là số nguyên dương (nhận {seq!r})")
        _check_seq(seq, previous)
        previous = seq
        epoch = _json_time(seq, item.get("sampled_at"))
        _check_time(seq, epoch, latest)
        slot_active = item.get("slot_active", False)
        if not isinstance(slot_active, bool):
            raise InvalidSample(seq, f"slot_active: phải là true hoặc false (nhận {slot_active!r})")
        sample = {"seq": seq, "sampled_at": iso_at(epoch),
                  "received_at": received_at}
        for name in ("connection", "playback", "power_source", "speaker_line", "screen"):
            sample[name] = _json_choice(seq, name, item.get(name))
        for name in INTEGER_FIELDS + DECIMAL_FIELDS:
            sample[name] = _json_number(seq, name, item.get(name))
        for name in TEXT_LIMITS:
            sample[name] = _json_text(seq, name, item.get(name))
        sample["slot_active"] = slot_active
        _check_ranges(sample)
        out.append((int(epoch), {name: sample[name] for name in FIELDS}))
    return out


class DeviceBuffer:
    """One device's samples waiting to be written, and what the next flush
    writes to its ``device_state``.

    ``listener(ok, stored_through_seq)`` (a connected stream) hears of
    every flush that covered the device; ``waiters(ok)`` (MQTT messages) of
    the one flush that covered what they brought; ``ok`` is False if it failed.
    """

    __slots__ = ("key", "commune_id", "device_id", "presence_timeout_s", "stored_through_seq", "pending",
                 "heard", "active_at", "goodbye_at", "connected", "waiters", "listener", "latest", "state_stale",
                 "dirty")

    def __init__(self, commune_id, device_id, presence_timeout_s, stored_through_seq):
        self.key = f"{commune_id}/{device_id}"
        self.commune_id = commune_id
        self.device_id = device_id
        self.presence_timeout_s = presence_timeout_s
        self.stored_through_seq = stored_through_seq
        self.pending = {}  # seq -> (epoch second, sample)
        self.heard = None  # epoch seconds of the last message since the last flush
        self.active_at = time.time()
        self.goodbye_at = None
        self.connected = {}  # device_state fields of a new stream (Hello)
        self.waiters = []
        self.listener = None
        self.latest = None  # the newest stored sample, rewritten if a state write failed
        self.state_stale = False
        self.dirty = False

    def take(self):
        """Detach what the next write covers; new samples start a new batch."""
        taken = Taken(self, sorted(self.pending.items()), self.heard, self.goodbye_at, self.connected, self.waiters)
        self.pending, self.heard, self.goodbye_at, self.connected, self.waiters = {}, None, None, {}, []
        self.dirty = False
        return taken


class Taken:
    """A device's share of one flush."""

    __slots__ = ("buffer", "items", "heard", "goodbye_at", "connected", "waiters")

    def __init__(self, buffer, items, heard, goodbye_at, connected, waiters):
        self.buffer = buffer
        self.items = items  # [(seq, (epoch second, sample))] by seq
        self.heard = heard
        self.goodbye_at = goodbye_at
        self.connected = connected
        self.waiters = waiters

    def bucket_documents(self, bucket_seconds, max_samples):
        """Insert-only bucket documents: one per run of samples in the same
        period, closed at ``max_samples``; ``_id`` ``<key>/<start>/<first_seq>``."""
        buffer = self.buffer
        docs = []
        run, run_bucket = [], None
        for seq, (epoch, sample) in self.items:
            bucket = epoch // bucket_seconds
            if run and (bucket != run_bucket or len(run) >= max_samples):
                docs.append(self._document(buffer, run, run_bucket, bucket_seconds))
                run = []
            run_bucket = bucket
            run.append(sample)
        if run:
            docs.append(self._document(buffer, run, run_bucket, bucket_seconds))
        return docs

    @staticmethod
    def _document(buffer, samples, bucket, bucket_seconds):
        start = iso_from_epoch(bucket * bucket_seconds)
        first_seq = samples[0]["seq"]
        return {
            "_id": f"{buffer.key}/{start}/{first_seq}",
            "commune_id": buffer.commune_id,
            "device_id": buffer.device_id,
            "start": start,
            "end": iso_from_epoch((bucket + 1) * bucket_seconds),
            "first_seq": first_seq,
            "last_seq": samples[-1]["seq"],
            "count": len(samples),
            "samples": samples,
            "rollup": "pending",
        }

    def state_update(self, now):
        """The ``device_state`` change: ``(key, ids, fields to set, stored_through_seq)``."""
        buffer = self.buffer
        fields = dict(self.connected)
        heard = self.heard or now
        fields["last_seen"] = iso_at(heard)
        fields["offline_after"] = iso_at(self.goodbye_at if self.goodbye_at is not None
                                         else heard + buffer.presence_timeout_s)
        fields["changed_at"] = iso_at(now)
        latest = self.items[-1][1][1] if self.items else (buffer.latest if buffer.state_stale else None)
        if latest is not None:
            fields["sample"] = latest
            fields["sample_at"] = latest["sampled_at"]
        through = max(self.items[-1][0] if self.items else 0, buffer.stored_through_seq)
        ids = {"commune_id": buffer.commune_id, "device_id": buffer.device_id}
        return buffer.key, ids, fields, through


class StateNotSaved(Exception):
    """The samples were stored but ``device_state`` was not updated."""


class Ingest:
    """The per-process buffers and their writer.

    ``store.write(docs, state_updates)`` (blocking, run in ``executor``)
    inserts the bucket documents and applies the ``device_state`` updates,
    raising ``StateNotSaved`` if only the first part worked.
    """

    def __init__(self, store, executor, bucket_seconds=60, max_samples=1000, flush_seconds=1.0, idle_seconds=600):
        self._store = store
        self._executor = executor
        self._bucket_seconds = int(bucket_seconds)
        self._max_samples = int(max_samples)
        self._flush_seconds = float(flush_seconds)
        self._idle_seconds = idle_seconds
        self._devices = {}
        self._dirty = set()
        self._urgent = set()
        self._wake = asyncio.Event()
        self._writing = asyncio.Lock()
        self._stopping = False
        self._flushed_at = time.monotonic()
        self._received = {transport: SAMPLES_RECEIVED.labels(transport) for transport in ("grpc", "mqtt")}

    def device(self, key):
        return self._devices.get(key)

    def attach(self, commune_id, device_id, presence_timeout_s, stored_through_seq):
        """The device's buffer, made or refreshed with what the store says."""
        key = f"{commune_id}/{device_id}"
        buffer = self._devices.get(key)
        if buffer is None:
            buffer = self._devices[key] = DeviceBuffer(commune_id, device_id, presence_timeout_s, stored_through_seq)
        else:
            buffer.presence_timeout_s = presence_timeout_s
            buffer.stored_through_seq = max(buffer.stored_through_seq, stored_through_seq)
        return buffer

    def heard(self, buffer, now):
        """The device sent something: its ``last_seen`` goes out with the next flush."""
        buffer.heard = buffer.active_at = now
        if not buffer.dirty:
            buffer.dirty = True
            self._dirty.add(buffer.key)

    def accept(self, buffer, samples, transport):
        """Buffer checked samples (``samples_from_*``), skipping resent ones;
        returns how many were new."""
        pending = buffer.pending
        through = buffer.stored_through_seq
        fresh = 0
        for epoch, sample in samples:
            seq = sample["seq"]
            if seq > through and seq not in pending:
                pending[seq] = (epoch, sample)
                fresh += 1
        self._received[transport].inc(len(samples))
        if fresh < len(samples):
            SAMPLES_SKIPPED.inc(len(samples) - fresh)
        if len(pending) >= self._max_samples:
            self.flush_soon(buffer)
        return fresh

    def backlogged(self, buffer):
        """Whether the device has a full bucket waiting: its stream should
        read no more until it is stored (HTTP/2 flow control then slows the
        device down instead of the edge's memory filling up)."""
        return len(buffer.pending) >= self._max_samples

    def goodbye(self, buffer, now):
        """The device leaves on purpose: shown offline from now, its buffer written at once."""
        self.heard(buffer, now)
        buffer.goodbye_at = now
        self.flush_soon(buffer)

    def when_stored(self, buffer, waiter):
        """``waiter(ok)`` after the flush that covers what the device sent so far."""
        buffer.waiters.append(waiter)
        if not buffer.dirty:
            buffer.dirty = True
            self._dirty.add(buffer.key)

    async def flushed(self, buffer):
        """Write the device's buffer now; True once stored."""
        done = asyncio.get_running_loop().create_future()
        self.when_stored(buffer, lambda ok: done.done() or done.set_result(ok))
        self.flush_soon(buffer)
        return await done

    def flush_soon(self, buffer):
        self._urgent.add(buffer.key)
        self._wake.set()

    def release(self, buffer):
        """A stream let go of the device: write what it left, keep nothing listening."""
        buffer.listener = None
        if buffer.dirty:
            self.flush_soon(buffer)

    async def run(self):
        """Flush every ``flush_seconds`` (or at once for urgent devices) until
        ``stop``; then write everything left."""
        loop = asyncio.get_running_loop()
        next_flush = loop.time() + self._flush_seconds
        while not self._stopping:
            delay = next_flush - loop.time()
            if delay > 0 and not self._urgent:
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                except asyncio.TimeoutError:
                    pass
            self._wake.clear()
            if self._stopping:
                break
            try:
                if loop.time() >= next_flush:
                    next_flush = loop.time() + self._flush_seconds
                    keys, self._dirty, self._urgent = self._dirty, set(), set()
                    await self._flush(keys)
                    self._forget_idle()
                    self._flushed_at = time.monotonic()
                else:
                    keys, self._urgent = self._urgent, set()
                    self._dirty -= keys
                    await self._flush(keys)
            except Exception:  # a writer that died would silently stop all storage
                log.exception("telemetry flush failed unexpectedly; carrying on")
        await self._flush(set(self._dirty) | self._urgent)

    def check(self):
        """For /healthz: raises if the writer has not completed a pass lately
        (stuck on the store, or dead)."""
        silent = time.monotonic() - self._flushed_at
        if silent > 30 + 10 * self._flush_seconds:
            raise RuntimeError(f"no telemetry flush for {silent:.0f} s")

    def stop(self):
        self._stopping = True
        self._wake.set()

    async def flush_all(self):
        """Write every buffer now (before a shutdown ends the streams)."""
        keys, self._dirty, self._urgent = self._dirty | self._urgent, set(), set()
        await self._flush(keys)

    async def _flush(self, keys):
        async with self._writing:  # one write at a time: acknowledgements stay in order
            taken = [buffer.take() for buffer in map(self._devices.get, keys)
                     if buffer is not None and buffer.dirty]
            if taken:
                await self._write_taken(taken)

    async def _write_taken(self, taken):
        started = time.perf_counter()
        ok, state_saved = True, True
        try:
            stored = await asyncio.get_running_loop().run_in_executor(self._executor, self._write, taken)
        except StateNotSaved as err:
            stored, state_saved = err.args[0], False
            log.warning("device states not saved; retried with the next flush", exc_info=True)
        except Exception:  # the store is down or refused: nobody is told "stored"
            ok = False
            FLUSH_FAILURES.inc()
            log.exception("writing %d devices' telemetry failed", len(taken))
        FLUSH_SECONDS.observe(time.perf_counter() - started)
        if ok:
            SAMPLES_STORED.inc(stored)
        for part in taken:
            self._settle(part, ok, state_saved)

    def _write(self, taken):
        """In the executor: build the documents and write them; returns the samples stored."""
        now = time.time()
        docs = []
        for part in taken:
            docs.extend(part.bucket_documents(self._bucket_seconds, self._max_samples))
        updates = [part.state_update(now) for part in taken]
        stored = sum(doc["count"] for doc in docs)
        try:
            self._store.write(docs, updates)
        except StateNotSaved as err:
            raise StateNotSaved(stored) from err
        return stored

    def _settle(self, part, ok, state_saved):
        buffer = part.buffer
        if ok and part.items:
            buffer.stored_through_seq = max(buffer.stored_through_seq, part.items[-1][0])
            buffer.latest = part.items[-1][1][1]
        if ok:
            buffer.state_stale = not state_saved
            if not state_saved:
                self.heard(buffer, buffer.heard or part.heard or time.time())
        if buffer.listener is not None:
            buffer.listener(ok, buffer.stored_through_seq)
        for waiter in part.waiters:
            waiter(ok)

    def _forget_idle(self):
        """Drop buffers nobody uses, so the map holds the devices of recent minutes."""
        cutoff = time.time() - self._idle_seconds
        idle = [key for key, buffer in self._devices.items()
                if buffer.listener is None and not buffer.dirty and buffer.active_at < cutoff]
        for key in idle:
            del self._devices[key]
