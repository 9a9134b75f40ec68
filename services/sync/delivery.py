"""Handing down records (province → commune) to the services: which record
goes next and which RPC receives it. Pure rules: the inbox is read through a
function the caller passes in.

Order (API.md "Checkpoints"): every stream in ``seq`` order, one record after
the other (a gap stops the stream until the missing record is stored); the
``emergency`` stream (bản tin khẩn cấp) before anything else, and looked at
again before every record of another stream, so an emergency overtakes any
backlog; the other streams take turns, so a backlog of bulletins does not
hold a directive back for long. A paused stream is skipped, and so, for the
rest of a round, is every stream of a service that just failed to answer.
"""
from collections import deque
from dataclasses import dataclass

from services.sync.records import DOWN_KINDS, EMERGENCY


@dataclass(frozen=True)
class Target:
    """The RPC a down record is handed to, and the record kind it takes."""

    service: str
    method: str
    kind: str


RECEIVERS = {
    EMERGENCY: ("broadcast", "receive_bulletin"),
    "bulletins": ("broadcast", "receive_bulletin"),
    "directives": ("tasks", "receive_directive"),
    "courses": ("training", "receive_course"),
}
TARGETS = {stream: Target(*RECEIVERS[stream], kind) for stream, kind in DOWN_KINDS.items()}
# after the emergency stream, the others in turn, in this order
TAKING_TURNS = tuple(stream for stream in TARGETS if stream != EMERGENCY)


class UnknownRecord(ValueError):
    """A down record of a stream or kind this commune does not know: no
    service can take it."""


def target(record):
    """The RPC ``record`` goes to; UnknownRecord if none takes it."""
    found = TARGETS.get(record.get("stream"))
    if found is None:
        raise UnknownRecord(f"không có dịch vụ nhận luồng «{record.get('stream')}»")
    if record.get("kind") != found.kind:
        raise UnknownRecord(f"luồng «{record['stream']}» chỉ nhận loại «{found.kind}», không nhận «{record.get('kind')}»")
    return found


class DeliveryRound:
    """One pass over the inbox.

    ``delivered`` maps each down stream to the seq handed over last;
    ``read(stream, after_seq, limit)`` returns the stream's records after a
    seq in seq order; the streams in ``paused`` and those of the services in
    ``held`` are skipped. Call ``next()`` for the record to hand over, then
    ``done(record)`` once it is handed over (or given up as bad), or
    ``hold(record)`` when its service did not answer.
    """

    def __init__(self, delivered, read, paused=(), held=(), batch=100):
        self._positions = {stream: int(delivered.get(stream) or 0) for stream in TARGETS}
        self._read = read
        self._skipped = set(paused) | {stream for stream, found in TARGETS.items() if found.service in held}
        self._batch = batch
        self._waiting = {stream: deque() for stream in TAKING_TURNS}
        self._drained = set()
        self._turn = 0
        self.gaps = {}

    def position(self, stream):
        return self._positions[stream]

    def next(self):
        """The record to hand over now, or None when nothing (deliverable) waits."""
        if EMERGENCY not in self._skipped:
            found = self._contiguous(EMERGENCY, self._read(EMERGENCY, self._positions[EMERGENCY], 1))
            if found:
                return found[0]
        for offset in range(len(TAKING_TURNS)):
            stream = TAKING_TURNS[(self._turn + offset) % len(TAKING_TURNS)]
            head = self._head(stream)
            if head is not None:
                return head
        return None

    def _head(self, stream):
        if stream in self._skipped:
            return None
        waiting = self._waiting[stream]
        if not waiting and stream not in self._drained:
            waiting.extend(self._contiguous(stream, self._read(stream, self._positions[stream], self._batch)))
            if not waiting:
                # nothing more this round: new records wait for the next one
                self._drained.add(stream)
        return waiting[0] if waiting else None

    def _contiguous(self, stream, records):
        """The records that follow the stream's position without a gap."""
        expected = self._positions[stream] + 1
        taken = []
        for record in records:
            if record["seq"] != expected:
                self.gaps[stream] = expected
                break
            taken.append(record)
            expected += 1
        return taken

    def done(self, record):
        """``record`` is handed over (or given up): its stream moves on."""
        stream = record["stream"]
        if record["seq"] != self._positions[stream] + 1:
            raise ValueError(f"{stream}: record {record['seq']} is not the next after {self._positions[stream]}")
        self._positions[stream] = record["seq"]
        if stream != EMERGENCY:
            self._waiting[stream].popleft()
            self._turn = (TAKING_TURNS.index(stream) + 1) % len(TAKING_TURNS)

    def hold(self, record):
        """``record``'s service did not answer: its streams wait for a later
        round. Returns the service."""
        service = TARGETS[record["stream"]].service
        self._skipped.update(stream for stream, found in TARGETS.items() if found.service == service)
        return service
