"""Which down record is handed over next, and to which RPC (no I/O)."""
import pytest

from services.sync import delivery
from services.sync.delivery import DeliveryRound, UnknownRecord, target
from services.sync.records import DOWN_KINDS, DOWN_STREAMS

KIND = DOWN_KINDS


class Inbox:
    """The inbox as ``read`` sees it; records can be added between calls."""

    def __init__(self):
        self.records = {stream: [] for stream in DOWN_STREAMS}
        self.reads = []

    def add(self, stream, count=1):
        for _ in range(count):
            seq = len(self.records[stream]) + 1
            self.records[stream].append({"stream": stream, "seq": seq, "kind": KIND[stream], "body": {"n": seq},
                                         "recorded_at": None})
        return self

    def read(self, stream, after, limit):
        self.reads.append(stream)
        return [r for r in self.records[stream] if r["seq"] > after][:limit]


def drain(round_, limit=1000, between=None):
    """Hand over everything the round offers; ``between(n)`` runs after the n-th record."""
    order = []
    while len(order) < limit:
        record = round_.next()
        if record is None:
            break
        order.append((record["stream"], record["seq"]))
        round_.done(record)
        if between:
            between(len(order))
    return order


def test_emergency_records_go_before_everything_else_in_seq_order():
    inbox = Inbox().add("bulletins", 2).add("directives", 1).add("emergency", 3)
    order = drain(DeliveryRound({}, inbox.read))
    assert order[:3] == [("emergency", 1), ("emergency", 2), ("emergency", 3)]
    assert sorted(order[3:]) == [("bulletins", 1), ("bulletins", 2), ("directives", 1)]


def test_an_emergency_arriving_during_a_backlog_goes_next():
    inbox = Inbox().add("bulletins", 500)

    def arrives(n):
        if n in (10, 11, 300):
            inbox.add("emergency")

    order = drain(DeliveryRound({}, inbox.read, batch=100), between=arrives)
    # the 11th record is the first emergency, the 12th the one that came while it was handed over
    assert order[10:12] == [("emergency", 1), ("emergency", 2)] and order[300] == ("emergency", 3)
    assert [seq for stream, seq in order if stream == "bulletins"] == list(range(1, 501))


def test_the_emergency_stream_is_looked_at_before_every_record_of_another_stream():
    inbox = Inbox().add("bulletins", 5)
    drain(DeliveryRound({}, inbox.read, batch=100))
    # one batch of bulletins read, the emergency stream before each record and once more at the end
    assert inbox.reads.count("emergency") == 6 and inbox.reads.count("bulletins") == 2


def test_each_stream_starts_after_what_was_delivered_and_the_others_take_turns():
    inbox = Inbox().add("bulletins", 4).add("directives", 2).add("courses", 1)
    order = drain(DeliveryRound({"bulletins": 2, "directives": 0, "courses": 0}, inbox.read))
    assert order == [("bulletins", 3), ("directives", 1), ("courses", 1), ("bulletins", 4), ("directives", 2)]


def test_paused_streams_are_skipped_even_the_emergency_stream():
    inbox = Inbox().add("emergency", 1).add("bulletins", 2).add("directives", 2)
    assert drain(DeliveryRound({}, inbox.read, paused={"bulletins", "emergency"})) == [("directives", 1), ("directives", 2)]
    assert "bulletins" not in inbox.reads and "emergency" not in inbox.reads


def test_a_held_service_holds_all_its_streams_for_the_round():
    inbox = Inbox().add("emergency", 1).add("bulletins", 2).add("courses", 2)
    round_ = DeliveryRound({}, inbox.read)
    first = round_.next()
    assert first["stream"] == "emergency"
    assert round_.hold(first) == "broadcast"
    assert drain(round_) == [("courses", 1), ("courses", 2)]
    assert round_.position("emergency") == 0 and round_.position("bulletins") == 0
    later = DeliveryRound({"courses": 2}, inbox.read, held={"broadcast"})
    assert later.next() is None
    assert drain(DeliveryRound({"courses": 2}, inbox.read)) == [("emergency", 1), ("bulletins", 1), ("bulletins", 2)]


def test_a_gap_stops_its_stream_and_is_reported():
    inbox = Inbox().add("directives", 3)
    del inbox.records["directives"][1]
    round_ = DeliveryRound({}, inbox.read)
    assert drain(round_) == [("directives", 1)]
    assert round_.gaps == {"directives": 2}


def test_only_the_next_record_of_a_stream_can_be_done():
    inbox = Inbox().add("bulletins", 2)
    round_ = DeliveryRound({}, inbox.read)
    with pytest.raises(ValueError):
        round_.done(inbox.records["bulletins"][1])


@pytest.mark.parametrize("stream, service, method", [
    ("emergency", "broadcast", "receive_bulletin"),
    ("bulletins", "broadcast", "receive_bulletin"),
    ("directives", "tasks", "receive_directive"),
    ("courses", "training", "receive_course"),
])
def test_each_down_stream_goes_to_its_rpc(stream, service, method):
    found = target({"stream": stream, "kind": KIND[stream]})
    assert (found.service, found.method) == (service, method)


def test_every_down_stream_has_a_receiver():
    assert set(delivery.TARGETS) == set(DOWN_STREAMS)


@pytest.mark.parametrize("record", [
    {"stream": "directives", "kind": "bulletin"},
    {"stream": "weather", "kind": "bulletin"},
    {"stream": "courses"},
])
def test_a_record_no_service_takes_is_unknown(record):
    with pytest.raises(UnknownRecord):
        target(record)
