"""One virtual device — a loudspeaker cluster receiver (*cụm thu loa*) or a
public electronic board (*bảng tin điện tử*) — as plain behaviour, no I/O.

The device lives by its own clock: ``advance(now)`` runs everything due up
to ``now`` in time order (samples, the end of a play, a schedule slot
starting), each at its exact moment, whether or not a link is up. The links
(``grpc_link``, ``mqtt_link``) only carry what the device has to say:

- samples: every sample stays in ``unacked`` until the server acknowledges a
  ``seq`` at or above it; ``samples_to_send`` hands out those after the send
  cursor, and ``link_up(stored_through)`` moves the cursor back so everything
  the server has not stored is sent again;
- the outbox: command acknowledgements and play reports, kept until their
  ``Receipt``; ``link_up`` makes all of them unsent again, so reports of plays
  made offline go out after reconnecting with their original times;
- ``log``: what the device played and showed, drained by the runner into
  ``plays.jsonl``.

``seq`` survives restarts through ``snapshot``/``restore``: the snapshot holds
a reservation (``seq_reserved``), always at or above every ``seq`` handed out,
and is marked ``dirty`` whenever the reservation moves; the runner saves a
dirty device before sending anything, so a process killed at any moment
restarts above every sequence number it ever sent (skipping at most
``SEQ_BLOCK``; after ``shutdown`` it continues without a gap).

Times are POSIX seconds (floats). Commands are dicts shaped like
``shared.devicelink.make_command``'s, with times as floats:
``{"command_id", "kind", "params", "issued_at", "expires_at"}``.
"""
import dataclasses
import itertools
import math
import random
import uuid
from collections import deque

SEQ_BLOCK = 1000
DEFAULT_PLAY_SECONDS = 5.0
MAX_UNACKED = 20_000
MAX_OUTBOX = 10_000
REMEMBERED_COMMANDS = 500
MAX_SAMPLES_AHEAD = 5
LOCAL_UTC_OFFSET_HOURS = 7  # Vietnam, no daylight saving

LOUDSPEAKER = "loudspeaker"
EBOARD = "eboard"
KINDS = (LOUDSPEAKER, EBOARD)
PRIORITIES = {"normal": 1, "high": 2, "emergency": 3}
PRIORITY_NAMES = {number: name for name, number in PRIORITIES.items()}
EMERGENCY = PRIORITIES["emergency"]

ACCEPTED, REJECTED, COMPLETED = "accepted", "rejected", "completed"

FIRMWARE = "tinxa-sim/1.0"
MODELS = {LOUDSPEAKER: "SIM-LS-4G", EBOARD: "SIM-EB-55"}
CAPABILITIES = {LOUDSPEAKER: ["audio", "schedule"], EBOARD: ["text", "image", "audio", "schedule"]}


@dataclasses.dataclass(frozen=True)
class Profile:
    """How often rare things happen, per device and hour, and for how long (s)."""

    volume_change_per_hour: float = 0.5
    mute_per_hour: float = 0.005
    mute_seconds: tuple = (600, 3600)
    outage_per_hour: float = 0.02
    outage_seconds: tuple = (600, 7200)
    speaker_fault_per_hour: float = 0.002
    speaker_fault_seconds: tuple = (1800, 14400)

    def scaled(self, factor):
        """The same profile with every rate multiplied by ``factor``."""
        return dataclasses.replace(
            self, volume_change_per_hour=self.volume_change_per_hour * factor,
            mute_per_hour=self.mute_per_hour * factor, outage_per_hour=self.outage_per_hour * factor,
            speaker_fault_per_hour=self.speaker_fault_per_hour * factor)


class _Play:
    """Something on the device's speaker or screen: a command's play, a
    schedule slot, or (on the text channel) a text on an e-board."""

    __slots__ = ("content_id", "title", "command_id", "slot_id", "priority", "remaining",
                 "slot_ends_at", "started_at", "ends_at", "order", "resumed", "text")

    def __init__(self, content_id, title, command_id, slot_id, priority, remaining, order,
                 slot_ends_at=None, text=None):
        self.content_id = content_id
        self.title = title
        self.command_id = command_id
        self.slot_id = slot_id
        self.priority = priority
        self.remaining = remaining
        self.slot_ends_at = slot_ends_at
        self.order = order
        self.resumed = False
        self.text = text
        self.started_at = None
        self.ends_at = None


def _rate_hit(rng, per_hour, dt):
    return per_hour > 0 and rng.random() < per_hour * dt / 3600.0


class Device:
    """One device's behaviour. ``kind`` is ``loudspeaker`` or ``eboard``."""

    def __init__(self, device_id, commune_id, kind, village=None, *, now, sample_interval=5.0,
                 profile=None, seed=None, max_unacked=MAX_UNACKED):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        self.device_id = device_id
        self.commune_id = commune_id
        self.kind = kind
        self.village = village
        self.sample_interval = float(sample_interval)
        self.profile = profile or Profile()
        self.max_unacked = max_unacked
        self.rng = random.Random(seed)
        self._init_traits(random.Random(device_id))

        self.seq = 0
        self.seq_reserved = 0
        self.dirty = False
        self.unacked = deque()
        self.sent_through = 0
        self.acked_through = 0
        self.samples_dropped = 0

        self.outbox = []
        self._unsent = deque()
        self.log = []
        self.commands_seen = {}

        self.schedule_version = 0
        self.schedule = []
        self.slots_started = set()
        self.current = None
        self.pending = []
        self.text = None
        self._order = 0

        self.off = False
        self.next_sample_at = now + self.rng.uniform(0, self.sample_interval)
        self.last_sample_at = now
        self.clock = now
        self._step_state(now, 0.0)

    # --- character and continuous state ---------------------------------

    def _init_traits(self, traits):
        loudspeaker = self.kind == LOUDSPEAKER
        connections = ["fm_link", "cellular", "wifi"] if loudspeaker else ["wifi", "cellular", "ethernet"]
        self.connection = traits.choices(connections, weights=[3, 5, 2])[0]
        self.firmware = FIRMWARE
        self.model = MODELS[self.kind]
        self.capabilities = CAPABILITIES[self.kind]
        self.signal_base = traits.uniform(-88, -66)
        self.signal_offset = 0.0
        self.mains_base = traits.uniform(216, 229)
        self.temperature_offset = traits.uniform(0, 2) + (1.5 if not loudspeaker else 0)
        self.volume = traits.randrange(70, 91, 5) if loudspeaker else None
        self.outage_until = 0.0
        self.outage_started = 0.0
        self.battery_voltage = 13.4
        self.muted_until = 0.0
        self.volume_before_mute = self.volume
        self.speaker_line = "ok" if loudspeaker else None
        self.speaker_fault_until = 0.0

    def _step_state(self, t, dt):
        """Move the measured quantities on by ``dt`` seconds, ending at ``t``."""
        rng, profile = self.rng, self.profile
        if self.connection != "ethernet":
            self.signal_offset = self.signal_offset * math.exp(-dt / 900.0) + rng.gauss(0, 0.6 * math.sqrt(dt))
        if t >= self.outage_until and self.outage_until:
            self.outage_until = 0.0
        if not self.outage_until and _rate_hit(rng, profile.outage_per_hour, dt):
            self.outage_started = t
            self.outage_until = t + rng.uniform(*profile.outage_seconds)
        if self.outage_until:  # sags from 12.7 V towards 11 V over two hours
            self.battery_voltage = max(10.8, 12.7 - 1.7 * min(1.0, (t - self.outage_started) / 7200.0))
        else:  # recharges towards its float voltage in about half an hour
            self.battery_voltage += (13.4 - self.battery_voltage) * min(1.0, dt / 600.0)
        if self.kind == LOUDSPEAKER:
            self._step_speaker(t, dt)

    def _step_speaker(self, t, dt):
        rng, profile = self.rng, self.profile
        if self.muted_until and t >= self.muted_until:
            self.muted_until = 0.0
            self.volume = self.volume_before_mute
        if not self.muted_until:
            if _rate_hit(rng, profile.mute_per_hour, dt):
                self.volume_before_mute = self.volume
                self.volume = 0
                self.muted_until = t + rng.uniform(*profile.mute_seconds)
            elif _rate_hit(rng, profile.volume_change_per_hour, dt) and 70 <= self.volume <= 90:
                self.volume = min(90, max(70, self.volume + rng.choice((-5, 5))))
        if self.speaker_fault_until and t >= self.speaker_fault_until:
            self.speaker_fault_until = 0.0
            self.speaker_line = "ok"
        if not self.speaker_fault_until and _rate_hit(rng, profile.speaker_fault_per_hour, dt):
            self.speaker_line = rng.choice(("open_circuit", "short_circuit"))
            self.speaker_fault_until = t + rng.uniform(*profile.speaker_fault_seconds)

    def _local_hour(self, t):
        return ((t / 3600.0) + LOCAL_UTC_OFFSET_HOURS) % 24.0

    def _sample(self, t):
        rng = self.rng
        hour = self._local_hour(t)
        # warmest about 14:00 local time, 28 °C before dawn, up to about 43 °C
        day = (1 + math.cos(2 * math.pi * (hour - 14.0) / 24.0)) / 2
        temperature = min(45.0, max(28.0, 28.0 + 13.5 * day + self.temperature_offset + rng.gauss(0, 0.4)))
        on_mains = not self.outage_until
        playing = self.current
        shown = playing or self.text
        sample = {
            "seq": self.seq,
            "sampled_at": t,
            "connection": self.connection,
            "signal_dbm": (None if self.connection == "ethernet"
                           else int(min(-60, max(-95, self.signal_base + self.signal_offset)))),
            "volume": self.volume,
            "playback": "playing" if playing else "idle",
            "playing_content_id": shown.content_id if shown else None,
            "playing_title": (shown.title or shown.text) if shown else None,
            "power_source": "mains" if on_mains else "battery",
            "mains_voltage": (round(min(235.0, max(210.0, self.mains_base + rng.gauss(0, 2.0))), 1)
                              if on_mains else 0.0),
            "battery_voltage": round(self.battery_voltage, 2),
            "temperature_c": round(temperature, 1),
            "speaker_line": self.speaker_line,
            "brightness": None,
            "screen": None,
            "slot_active": self.slot_active(t),
        }
        if self.kind == EBOARD:
            screen_on = bool(shown) or 5.5 <= hour < 22.0
            sample["screen"] = "on" if screen_on else "off"
            sample["brightness"] = (95 if 6.0 <= hour < 18.0 else 55) if screen_on else 0
        return sample

    def _take_sample(self, t):
        self._step_state(t, t - self.last_sample_at)
        self.last_sample_at = t
        self.seq += 1
        if self.seq > self.seq_reserved:
            self.seq_reserved = self.seq + SEQ_BLOCK
            self.dirty = True
        self.unacked.append(self._sample(t))
        if len(self.unacked) > self.max_unacked:
            self.unacked.popleft()
            self.samples_dropped += 1

    # --- the clock --------------------------------------------------------

    def skip_missed_samples(self, now, limit):
        """More than ``limit`` samples overdue: the simulator itself stalled
        (suspended, overloaded); take the next one now rather than a burst."""
        if now - self.next_sample_at > limit * self.sample_interval:
            self.next_sample_at = now

    def slot_active(self, t):
        return any(entry["starts_at"] <= t < entry["ends_at"] for entry in self.schedule)

    def _next_slot_start(self):
        starts = [entry["starts_at"] for entry in self.schedule
                  if entry["slot_id"] not in self.slots_started and entry["ends_at"] > self.clock]
        return max(min(starts), self.clock) if starts else math.inf

    def next_wakeup(self, samples_ahead=0):
        """When ``advance`` next has something to do. ``samples_ahead``: let
        that many samples come due first (``advance`` takes each at its own
        time later), for a caller that only sends full batches."""
        moment = self.next_sample_at + min(samples_ahead, MAX_SAMPLES_AHEAD) * self.sample_interval
        if self.current is not None:
            moment = min(moment, self.current.ends_at)
        if self.text is not None:
            moment = min(moment, self.text.ends_at)
        if self.schedule:
            moment = min(moment, self._next_slot_start())
        return moment

    def advance(self, now):
        """Run everything due up to ``now``, each at its own moment."""
        if self.off:
            return
        while True:
            moment, event = self.next_sample_at, "sample"
            if self.current is not None and self.current.ends_at <= moment:
                moment, event = self.current.ends_at, "play_end"
            if self.text is not None and self.text.ends_at <= moment:
                moment, event = self.text.ends_at, "text_end"
            if self.schedule:
                slot_at = self._next_slot_start()
                if slot_at <= moment:
                    moment, event = slot_at, "slot"
            if moment > now:
                break
            self.clock = moment
            if event == "sample":
                self._take_sample(moment)
                self.next_sample_at = moment + self.sample_interval
            elif event == "play_end":
                self._finish_current(moment, completed=True)
                self._start_next(moment)
            elif event == "text_end":
                self._finish_text(moment, completed=True)
            else:
                self._start_due_slots(moment)
        self.clock = max(self.clock, now)

    # --- playing ----------------------------------------------------------

    def _new_order(self):
        self._order += 1
        return self._order

    def _start_due_slots(self, t):
        for entry in self.schedule:
            if entry["slot_id"] in self.slots_started or not entry["starts_at"] <= t < entry["ends_at"]:
                continue
            self.slots_started.add(entry["slot_id"])
            slot = _Play(entry["content_id"], entry.get("title", ""), "", entry["slot_id"],
                         PRIORITIES.get(entry.get("priority"), 1), None, self._new_order(),
                         slot_ends_at=entry["ends_at"])
            self._offer(slot, t)

    def _offer(self, play, t):
        """A new play: an emergency interrupts whatever else plays; anything
        else waits its turn (by priority, then first come)."""
        current = self.current
        if current is None:
            self._start(play, t)
            return "playing"
        if play.priority == EMERGENCY and current.priority < EMERGENCY:
            self._interrupt(t)
            self._start(play, t)
            return "playing"
        self.pending.append(play)
        return "queued"

    def _start(self, play, t):
        play.started_at = t
        if play.slot_ends_at is not None:
            play.ends_at = play.slot_ends_at
        else:
            play.ends_at = t + play.remaining
        self.current = play

    def _interrupt(self, t):
        play = self.current
        if t > play.started_at:
            self._finish_current(t, completed=False)
        else:  # interrupted the moment it began: nothing was heard, nothing to report
            self.current = None
        if play.slot_ends_at is None:
            play.remaining = max(0.0, play.remaining - (t - play.started_at))
        play.resumed = True
        self.pending.append(play)

    def _start_next(self, t):
        while self.pending:
            # highest priority first; among equals, what was interrupted, then first come
            best = min(self.pending, key=lambda p: (-p.priority, 0 if p.resumed else 1, p.order))
            self.pending.remove(best)
            if best.slot_ends_at is not None and best.slot_ends_at <= t:
                continue  # its slot is over
            self._start(best, t)
            return

    def _finish_current(self, t, completed, message=None):
        play = self.current
        self.current = None
        self._record_play(play, t, completed)
        if play.command_id and (completed or message):
            self._ack(play.command_id, COMPLETED, message or "played", t)

    def _record_play(self, play, t, completed):
        report_id = uuid.uuid4().hex
        self._queue({"type": "report", "id": report_id, "report_id": report_id,
                     "command_id": play.command_id, "content_id": play.content_id, "title": play.title,
                     "started_at": play.started_at, "ended_at": t, "completed": completed,
                     "slot_id": play.slot_id or ""})
        self.log.append({"device_id": self.device_id, "kind": "play", "content_id": play.content_id,
                         "title": play.title, "started_at": play.started_at, "ended_at": t,
                         "completed": completed, "command_id": play.command_id or None,
                         "slot_id": play.slot_id or None, "priority": PRIORITY_NAMES[play.priority],
                         "report_id": report_id, "resumed": play.resumed})

    def _finish_text(self, t, completed, message="shown"):
        text = self.text
        self.text = None
        self.log.append({"device_id": self.device_id, "kind": "show_text", "content_id": None,
                         "text": text.text, "started_at": text.started_at, "ended_at": t,
                         "completed": completed, "command_id": text.command_id, "slot_id": None,
                         "priority": None})
        self._ack(text.command_id, COMPLETED, message, t)

    # --- commands ---------------------------------------------------------

    def handle_command(self, command, now):
        """Act on a command from the server; the acks go to the outbox."""
        self.advance(now)
        command_id = command["command_id"]
        if command_id in self.commands_seen:
            return  # redelivered: its acks are in the outbox until their receipts
        self.commands_seen[command_id] = now
        if len(self.commands_seen) > REMEMBERED_COMMANDS:
            del self.commands_seen[next(iter(self.commands_seen))]
        self.dirty = True
        handler = getattr(self, "_command_" + (command.get("kind") or ""), None)
        expires_at = command.get("expires_at")
        if self.off:
            refusal = "device shutting down"
        elif expires_at and now > expires_at:
            refusal = "expired"
        elif handler is None:
            refusal = f"unsupported command {command.get('kind')!r}"
        else:
            refusal = None
        if refusal:
            self._ack(command_id, REJECTED, refusal, now)
            return
        handler(command_id, command.get("params") or {}, now)

    def _command_play(self, command_id, params, now):
        priority = PRIORITIES.get(params.get("priority") or "normal", 1)
        duration = float(params.get("duration_seconds") or DEFAULT_PLAY_SECONDS)
        repeat = max(1, int(params.get("repeat") or 1))
        total = duration * repeat + float(params.get("gap_seconds") or 0) * (repeat - 1)
        play = _Play(params["content_id"], params.get("title", ""), command_id, "", priority,
                     total, self._new_order())
        state = self._offer(play, now)
        self._ack(command_id, ACCEPTED, state, now)

    def _command_stop(self, command_id, params, now):
        content_id = params.get("content_id") or ""
        self._ack(command_id, ACCEPTED, "stopping", now)
        for play in [p for p in self.pending if content_id and p.content_id == content_id]:
            self.pending.remove(play)
            if play.command_id:
                self._ack(play.command_id, COMPLETED, "stopped", now)
        if self.current is not None and content_id in ("", self.current.content_id):
            self._finish_current(now, completed=False, message="stopped")
            self._start_next(now)
        self.log.append(self._instant("stop", command_id, now, content_id=content_id or None))
        self._ack(command_id, COMPLETED, "stopped", now)

    def _command_set_volume(self, command_id, params, now):
        if self.kind != LOUDSPEAKER:
            self._ack(command_id, REJECTED, "no loudspeaker on this device", now)
            return
        volume = int(params["volume"])
        if not 0 <= volume <= 100:
            self._ack(command_id, REJECTED, "volume out of range", now)
            return
        self.volume = volume
        self.muted_until = 0.0
        self._ack(command_id, ACCEPTED, "volume set", now)
        self.log.append(self._instant("set_volume", command_id, now, volume=volume))
        self._ack(command_id, COMPLETED, "volume set", now)

    def _command_show_text(self, command_id, params, now):
        if self.kind != EBOARD:
            self._ack(command_id, REJECTED, "no screen on this device", now)
            return
        if self.text is not None:
            self._finish_text(now, completed=False, message="replaced")
        text = _Play(None, "", command_id, None, 1, None, self._new_order(), text=params["text"])
        text.started_at = now
        text.ends_at = now + float(params.get("duration_seconds") or 60)
        self.text = text
        self._ack(command_id, ACCEPTED, "showing", now)

    def _command_schedule_sync(self, command_id, params, now):
        self.schedule = sorted(
            ({**entry, "starts_at": float(entry["starts_at"]), "ends_at": float(entry["ends_at"])}
             for entry in params.get("entries") or ()),
            key=lambda entry: entry["starts_at"])
        self.schedule_version = int(params.get("version") or 0)
        self.slots_started &= {entry["slot_id"] for entry in self.schedule}
        self._ack(command_id, ACCEPTED, "schedule kept", now)
        self.log.append(self._instant("schedule_sync", command_id, now, version=self.schedule_version,
                                      entries=len(self.schedule)))
        self._ack(command_id, COMPLETED, "schedule kept", now)
        self._start_due_slots(now)

    def _instant(self, kind, command_id, now, **extra):
        return {"device_id": self.device_id, "kind": kind, "content_id": extra.pop("content_id", None),
                "started_at": now, "ended_at": now, "completed": True, "command_id": command_id,
                "slot_id": None, "priority": None, **extra}

    def shutdown(self, now):
        """The device is switched off: what plays is cut short, nothing resumes."""
        self.advance(now)
        if self.current is not None:
            self._finish_current(now, completed=False, message="device shut down")
        for play in self.pending:
            if play.command_id:
                self._ack(play.command_id, COMPLETED, "device shut down", now)
        self.pending = []
        if self.text is not None:
            self._finish_text(now, completed=False, message="device shut down")
        self.off = True
        # no sample follows: a restart after a clean shutdown continues without a gap
        self.seq_reserved = self.seq
        self.dirty = True

    # --- outbox -------------------------------------------------------------

    def _ack(self, command_id, status, message, t):
        self._queue({"type": "ack", "id": command_id, "command_id": command_id, "status": status,
                     "message": message, "at": t})

    def _queue(self, item):
        self.outbox.append(item)
        self._unsent.append(item)
        self.dirty = True
        if len(self.outbox) > MAX_OUTBOX:
            dropped = self.outbox.pop(0)
            if dropped in self._unsent:
                self._unsent.remove(dropped)

    def take_unsent(self):
        """Acks and reports to send now (each once per connection)."""
        items = list(self._unsent)
        self._unsent.clear()
        return items

    def receipt(self, item_id):
        """The server has a report (``report_id``) or ack (``command_id``):
        forget the oldest such item. True if one was pending."""
        for index, item in enumerate(self.outbox):
            if item["id"] == item_id:
                del self.outbox[index]
                if item in self._unsent:
                    self._unsent.remove(item)
                self.dirty = True
                return True
        return False

    # --- samples over a link --------------------------------------------------

    def link_up(self, stored_through=None):
        """A new connection. ``stored_through`` (the Welcome's) drops what the
        server has and moves ``seq`` past it; None (a link without it, MQTT)
        resends everything unacknowledged."""
        if stored_through is not None:
            self.ack_samples(stored_through)
            if stored_through > self.seq:
                self.seq = stored_through
                if self.seq >= self.seq_reserved:
                    self.seq_reserved = self.seq + SEQ_BLOCK
                    self.dirty = True
        self.sent_through = self.acked_through
        if self.unacked:
            self.sent_through = max(self.sent_through, self.unacked[0]["seq"] - 1)
        self._unsent = deque(self.outbox)

    def unsent_count(self):
        if not self.unacked:
            return 0
        return self.unacked[-1]["seq"] - max(self.sent_through, self.unacked[0]["seq"] - 1)

    def samples_to_send(self, limit):
        """Up to ``limit`` samples after the send cursor, which moves past them.
        (Buffered seqs are consecutive, so the cursor is an index.)"""
        unacked = self.unacked
        if not unacked:
            return []
        start = max(0, self.sent_through + 1 - unacked[0]["seq"])
        end = min(len(unacked), start + limit)
        if start >= end:
            return []
        batch = list(itertools.islice(unacked, start, end))
        self.sent_through = batch[-1]["seq"]
        return batch

    def ack_samples(self, stored_through):
        """The server stored every sample up to ``stored_through``; returns how
        many buffered samples that acknowledged."""
        count = 0
        unacked = self.unacked
        while unacked and unacked[0]["seq"] <= stored_through:
            unacked.popleft()
            count += 1
        if stored_through > self.acked_through:
            self.acked_through = stored_through
        return count

    # --- persistence ------------------------------------------------------------

    def drain_log(self):
        log, self.log = self.log, []
        return log

    def snapshot(self):
        """What survives a restart (see the module docstring for ``seq``);
        the device counts as saved (not ``dirty``) from here on."""
        self.dirty = False
        return {
            "device_id": self.device_id,
            "seq_reserved": self.seq_reserved,
            "volume": self.volume if not self.muted_until else self.volume_before_mute,
            "schedule_version": self.schedule_version,
            "schedule": self.schedule,
            "outbox": self.outbox,
            "commands_seen": list(self.commands_seen),
        }

    def restore(self, snapshot, now):
        """Take back a ``snapshot`` after a restart (before any ``advance``)."""
        self.seq = max(self.seq, int(snapshot.get("seq_reserved") or 0))
        self.seq_reserved = self.seq
        if self.kind == LOUDSPEAKER and snapshot.get("volume") is not None:
            self.volume = snapshot["volume"]
        self.schedule_version = int(snapshot.get("schedule_version") or 0)
        self.schedule = [entry for entry in snapshot.get("schedule") or () if entry["ends_at"] > now]
        self.outbox = list(snapshot.get("outbox") or ())
        self._unsent = deque(self.outbox)
        self.commands_seen = dict.fromkeys(snapshot.get("commands_seen") or (), now)
        self.acked_through = self.sent_through = self.seq
        # a slot on the air now is picked up again (the receiver rejoins the programme)
        self.slots_started = set()
