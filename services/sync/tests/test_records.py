"""records.py: the contiguity rule and the wire form of a record, no I/O."""
import pytest

from services.sync.records import (
    DOWN_STREAMS, MAX_SEQ, UP_STREAMS, BadRecord, Gap, applicable, by_stream, decode_body, encode_body, from_proto,
    key, key_range, positions_from_proto, positions_to_proto, to_proto,
)
from tinxa.sync.v1 import province_sync_pb2 as pb


def records(*seqs, stream="content"):
    return [{"stream": stream, "seq": seq} for seq in seqs]


@pytest.mark.parametrize("position, batch, fresh", [
    (0, (1, 2, 3), (1, 2, 3)),
    (3, (4, 5), (4, 5)),
    (3, (1, 2, 3), ()),  # all applied already: a resent batch changes nothing
    (3, (2, 3, 4, 5), (4, 5)),  # overlapping the position: only the new part
    (3, (4, 4, 5, 3, 6), (4, 5, 6)),  # repeats inside the batch are skipped
    (0, (), ()),
])
def test_applicable_takes_what_follows_the_position(position, batch, fresh):
    assert [r["seq"] for r in applicable(records(*batch), position)] == list(fresh)


@pytest.mark.parametrize("position, batch, expected, got", [
    (0, (2, 3), 1, 2),
    (3, (5,), 4, 5),
    (3, (4, 6), 5, 6),  # a gap inside the batch
    (3, (2, 3, 5), 4, 5),
])
def test_applicable_refuses_a_gap_naming_the_expected_seq(position, batch, expected, got):
    with pytest.raises(Gap) as gap:
        applicable(records(*batch, stream="tasks"), position)
    assert (gap.value.stream, gap.value.expected, gap.value.got) == ("tasks", expected, got)
    assert str(gap.value) == f"stream tasks: expected seq {expected}, got seq {got}"


def test_by_stream_keeps_the_order_within_each_stream():
    mixed = records(1, 2, stream="content") + records(7, stream="tasks") + records(3, stream="content")
    assert {s: [r["seq"] for r in rs] for s, rs in by_stream(mixed).items()} == {"content": [1, 2, 3], "tasks": [7]}


def test_keys_sort_as_seqs_and_ranges_hold_one_stream():
    assert sorted([key("content", 10), key("content", 9), key("content", 100)]) == [
        key("content", 9), key("content", 10), key("content", 100)]
    inside = key_range("xa/content", 9)
    assert inside["$gt"] < key("xa/content", 10) < inside["$lt"]
    assert not inside["$gt"] < key("xa/content", 9)
    # a stream whose name starts like another's is outside its range
    for other in (key("xa/content_x", 1), key("xa/contents", 1), key("xa-b/content", 1)):
        assert not key_range("xa/content")["$gt"] < other < key_range("xa/content")["$lt"]


def test_a_record_survives_the_wire():
    record = {"stream": "content", "seq": 12, "kind": "content.item_published",
              "body": {"title": "Lịch tiêm phòng dại", "n": 3, "nested": {"ok": True}},
              "recorded_at": "2026-11-26T13:50:44.693Z"}
    message = pb.Record.FromString(to_proto(record).SerializeToString())
    assert message.body.decode("utf-8") == '{"title":"Lịch tiêm phòng dại","n":3,"nested":{"ok":true}}'
    assert from_proto(message, UP_STREAMS) == record


def test_a_record_without_recorded_at_gets_none():
    message = pb.Record(stream="bulletins", seq=1, kind="bulletin", body=b"{}")
    assert from_proto(message, DOWN_STREAMS)["recorded_at"] is None


@pytest.mark.parametrize("message, error", [
    (pb.Record(stream="emergency", seq=1, kind="bulletin", body=b"{}"), "unknown stream"),
    (pb.Record(stream="content", seq=0, kind="k", body=b"{}"), "seq must be between 1"),
    (pb.Record(stream="content", seq=MAX_SEQ + 1, kind="k", body=b"{}"), "seq must be between 1"),
    (pb.Record(stream="content", seq=1, kind="", body=b"{}"), "kind must be"),
    (pb.Record(stream="content", seq=1, kind="k", body=b"[1]"), "body must be a JSON object"),
    (pb.Record(stream="content", seq=1, kind="k", body=b"{nope"), "body is not UTF-8 JSON"),
    (pb.Record(stream="content", seq=1, kind="k", body=b""), "body must be a JSON object"),
])
def test_bad_records_are_refused_naming_stream_and_seq(message, error):
    with pytest.raises(BadRecord) as refused:
        from_proto(message, UP_STREAMS)
    assert error in str(refused.value)
    assert f"seq {message.seq}" in str(refused.value)


def test_bodies_and_positions_round_trip():
    assert decode_body(encode_body({"a": "ă"})) == {"a": "ă"}
    positions = {"tasks": 4, "content": 9}
    assert positions_from_proto(positions_to_proto(positions)) == positions


def test_stream_names():
    assert DOWN_STREAMS[0] == "emergency"
    assert set(UP_STREAMS) == {"content", "broadcast_stats", "devices", "tasks", "training"}
    assert not set(UP_STREAMS) & set(DOWN_STREAMS)
