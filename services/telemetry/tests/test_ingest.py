"""Unit tests of ingestion: sample checks, bucket documents, the buffers and
their writer, and the MQTT consumer's handling of messages (fakes, no I/O)."""
import asyncio
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from services.telemetry.ingest import (
    FIELDS, Ingest, InvalidSample, StateNotSaved, iso_at, samples_from_json, samples_from_proto,
)
from services.telemetry.mqtt_ingest import MqttIngest
from tinxa.devicelink.v1 import devicelink_pb2 as pb

NOW = datetime(2026, 11, 26, 13, 50, 44, 693000, tzinfo=timezone.utc).timestamp()
RECEIVED = iso_at(NOW)


def proto_sample(seq=1, at=NOW - 10, **fields):
    message = pb.Sample(seq=seq, **fields)
    if at is not None:
        message.sampled_at.seconds = int(at)
        message.sampled_at.nanos = int(round((at % 1) * 1e9))
    return message


def json_sample(seq=1, at="2026-11-26T13:50:00.250Z", **fields):
    return {"seq": seq, "sampled_at": at, **fields}


def test_a_proto_sample_becomes_a_flat_dict_with_nulls_for_unset_fields():
    full = proto_sample(
        seq=7, connection=pb.CONNECTION_TYPE_CELLULAR, signal_dbm=-85, volume=70, playback=pb.PLAYBACK_STATE_PLAYING,
        playing_content_id="bt-12", playing_title="Bản tin sáng", power_source=pb.POWER_SOURCE_BATTERY,
        mains_voltage=0.0, battery_voltage=12.6, temperature_c=41.3, speaker_line=pb.SPEAKER_LINE_STATE_SHORT_CIRCUIT,
        slot_active=True)
    (epoch, stored), = samples_from_proto([full], RECEIVED, NOW)
    assert epoch == int(NOW - 10)
    assert stored == {
        "seq": 7, "sampled_at": "2026-11-26T13:50:34.693Z", "received_at": RECEIVED, "connection": "cellular",
        "signal_dbm": -85, "volume": 70, "playback": "playing", "playing_content_id": "bt-12",
        "playing_title": "Bản tin sáng", "power_source": "battery", "mains_voltage": 0.0, "battery_voltage": 12.6,
        "temperature_c": 41.3, "speaker_line": "short_circuit", "brightness": None, "screen": None,
        "slot_active": True,
    }
    (_, bare), = samples_from_proto([proto_sample(seq=1)], RECEIVED, NOW)
    assert [name for name, value in bare.items() if value is not None] == ["seq", "sampled_at", "received_at",
                                                                           "slot_active"]
    assert list(bare) == list(FIELDS)


@pytest.mark.parametrize("samples, problem", [
    ([proto_sample(seq=0)], "seq: số thứ tự phải là số nguyên dương (nhận 0)"),
    ([proto_sample(seq=5), proto_sample(seq=5)], "seq: số thứ tự phải tăng dần trong một lô (seq 5 sau seq 5)"),
    ([proto_sample(seq=2**63)], "seq: số thứ tự phải là số nguyên dương"),
    ([proto_sample(at=None)], "sampled_at: thiếu thời điểm đo"),
    ([proto_sample(at=NOW + 301)], "sampled_at: thời điểm đo ở tương lai"),
    ([proto_sample(at=0)], "sampled_at: thời điểm đo trước năm 2000"),
    ([proto_sample(volume=101)], "volume: âm lượng phải từ 0 đến 100 (nhận 101)"),
    ([proto_sample(volume=-1)], "volume: âm lượng phải từ 0 đến 100 (nhận -1)"),
    ([proto_sample(brightness=130)], "brightness: độ sáng phải từ 0 đến 100 (nhận 130)"),
    ([proto_sample(signal_dbm=5)], "signal_dbm: cường độ tín hiệu phải từ -150 đến 0 dBm (nhận 5)"),
    ([proto_sample(temperature_c=math.nan)], "temperature_c: nhiệt độ phải từ -50 đến 150 °C (nhận nan)"),
    ([proto_sample(mains_voltage=900)], "mains_voltage: điện áp lưới phải từ 0 đến 500 V"),
    ([proto_sample(connection=9)], "connection: giá trị không hợp lệ (nhận 9)"),
    ([proto_sample(playing_title="x" * 501)], "playing_title: dài quá 500 ký tự"),
])
def test_a_malformed_proto_sample_is_named(samples, problem):
    with pytest.raises(InvalidSample) as refused:
        samples_from_proto(samples, RECEIVED, NOW)
    assert problem in refused.value.message
    assert refused.value.message.startswith("Mẫu đo không hợp lệ (seq ")


def test_a_sample_a_little_ahead_of_the_server_clock_is_accepted():
    assert samples_from_proto([proto_sample(at=NOW + 299)], RECEIVED, NOW)


def test_json_samples_use_the_stored_field_names():
    one = json_sample(seq=3, volume=55, connection="wifi", mains_voltage=221, slot_active=True, firmware="ignored")
    (epoch, stored), = samples_from_json(one, RECEIVED, NOW)
    assert epoch == int(datetime(2026, 11, 26, 13, 50, tzinfo=timezone.utc).timestamp())
    assert stored["sampled_at"] == "2026-11-26T13:50:00.250Z"
    assert (stored["volume"], stored["connection"], stored["mains_voltage"], stored["slot_active"]) == (55, "wifi",
                                                                                                        221.0, True)
    assert list(stored) == list(FIELDS) and stored["received_at"] == RECEIVED
    many = samples_from_json({"samples": [json_sample(1, at="2026-11-26T20:50:00+07:00"), json_sample(2)]},
                             RECEIVED, NOW)
    assert [s["seq"] for _, s in many] == [1, 2]
    assert many[0][1]["sampled_at"] == "2026-11-26T13:50:00.000Z"


@pytest.mark.parametrize("payload, problem", [
    ([1, 2], "tin nhắn phải là một mẫu đo"),
    ({"samples": []}, "samples: phải là một danh sách mẫu đo không rỗng"),
    ({"samples": ["x"]}, "mỗi mẫu đo phải là một đối tượng JSON"),
    (json_sample(seq=True), "seq: số thứ tự phải là số nguyên dương (nhận True)"),
    (json_sample(seq="4"), "seq: số thứ tự phải là số nguyên dương (nhận '4')"),
    ({"samples": [json_sample(2), json_sample(1)]}, "seq: số thứ tự phải tăng dần trong một lô (seq 1 sau seq 2)"),
    (json_sample(at=None), "sampled_at: thiếu thời điểm đo"),
    (json_sample(at="2026-11-26T13:50:00"), "sampled_at: phải là thời điểm ISO-8601 có múi giờ"),
    (json_sample(at="hôm qua"), "sampled_at: phải là thời điểm ISO-8601 có múi giờ"),
    (json_sample(volume="50"), "volume: phải là số (nhận '50')"),
    (json_sample(volume=50.5), "volume: phải là số nguyên (nhận 50.5)"),
    (json_sample(volume=150), "volume: âm lượng phải từ 0 đến 100 (nhận 150)"),
    (json_sample(connection="lte"), "connection: phải là một trong ethernet, wifi, cellular, fm_link hoặc null"),
    (json_sample(slot_active="yes"), "slot_active: phải là true hoặc false (nhận 'yes')"),
    (json_sample(playing_title=5), "playing_title: phải là chuỗi (nhận 5)"),
])
def test_a_malformed_json_sample_is_named(payload, problem):
    with pytest.raises(InvalidSample) as refused:
        samples_from_json(payload, RECEIVED, NOW)
    assert problem in refused.value.message


class FakeStore:
    """Records writes; ``fail`` makes the next write raise it."""

    def __init__(self):
        self.docs, self.updates, self.fail = [], [], None

    def write(self, docs, updates):
        if self.fail is not None:
            error, self.fail = self.fail, None
            if isinstance(error, StateNotSaved):
                self.docs.extend(docs)
            raise error
        self.docs.extend(docs)
        self.updates.extend(updates)


def run(scenario, **options):
    """Run ``scenario(ingest, store)`` with a writer flushing every 0.05 s."""
    async def main():
        store = FakeStore()
        with ThreadPoolExecutor(2) as executor:
            ingest = Ingest(store, executor, **{"flush_seconds": 0.05, **options})
            writer = asyncio.ensure_future(ingest.run())
            try:
                return await asyncio.wait_for(scenario(ingest, store), 5)
            finally:
                ingest.stop()
                await writer
    return asyncio.run(main())


def timed(*seqs, start=NOW - 100, step=1.0):
    return samples_from_proto([proto_sample(seq=s, at=start + i * step) for i, s in enumerate(seqs)], RECEIVED, NOW)


def test_samples_are_written_in_buckets_then_acknowledged():
    heard = []

    async def scenario(ingest, store):
        buffer = ingest.attach("xh", "loa-1", 90, 0)
        buffer.listener = lambda ok, through: heard.append((ok, through))
        start = (int(NOW) // 60) * 60 - 2  # two samples in one minute, two in the next
        ingest.heard(buffer, NOW)
        ingest.accept(buffer, timed(1, 2, 3, 4, start=start), "grpc")
        assert await ingest.flushed(buffer)
        return store

    store = run(scenario)
    assert heard[-1] == (True, 4)
    first, second = store.docs
    assert [s["seq"] for s in first["samples"]] == [1, 2] and [s["seq"] for s in second["samples"]] == [3, 4]
    minute = iso_at((int(NOW) // 60) * 60 - 60)
    assert first["_id"] == f"xh/loa-1/{minute}/1" and first["start"] == minute
    assert (first["first_seq"], first["last_seq"], first["count"], first["rollup"]) == (1, 2, 2, "pending")
    assert first["end"] == second["start"] and second["_id"].endswith("/3")
    key, ids, fields, through = store.updates[-1]
    assert (key, ids, through) == ("xh/loa-1", {"commune_id": "xh", "device_id": "loa-1"}, 4)
    assert fields["sample"]["seq"] == 4 and fields["sample_at"] == fields["sample"]["sampled_at"]
    assert fields["last_seen"] == iso_at(NOW) and fields["offline_after"] == iso_at(NOW + 90)


def test_a_full_bucket_is_closed_and_written_at_once():
    async def scenario(ingest, store):
        buffer = ingest.attach("xh", "loa-1", 120, 0)
        ingest.heard(buffer, NOW)
        ingest.accept(buffer, timed(*range(1, 8), step=0.01), "grpc")
        assert ingest.backlogged(buffer)
        started = time.monotonic()
        while not store.docs:
            await asyncio.sleep(0.01)
        assert not ingest.backlogged(buffer)
        return store, time.monotonic() - started

    store, waited = run(scenario, max_samples=3, flush_seconds=30)
    assert waited < 1
    assert [doc["count"] for doc in store.docs] == [3, 3, 1]
    assert [doc["first_seq"] for doc in store.docs] == [1, 4, 7]


def test_resent_samples_are_skipped():
    async def scenario(ingest, store):
        buffer = ingest.attach("xh", "loa-1", 120, 3)
        assert ingest.accept(buffer, timed(2, 3, 4, 5), "grpc") == 2
        assert ingest.accept(buffer, timed(5, 6), "grpc") == 1
        await ingest.flushed(buffer)
        assert ingest.accept(buffer, timed(6), "grpc") == 0
        await ingest.flushed(buffer)
        return store

    store = run(scenario)
    assert [s["seq"] for doc in store.docs for s in doc["samples"]] == [4, 5, 6]
    assert store.updates[-1][3] == 6  # a flush with nothing new still carries the stored seq


def test_a_goodbye_shows_the_device_offline_now():
    async def scenario(ingest, store):
        buffer = ingest.attach("xh", "loa-1", 120, 0)
        ingest.goodbye(buffer, NOW)
        while not store.updates:
            await asyncio.sleep(0.01)
        return store

    fields = run(scenario, flush_seconds=30).updates[0][2]
    assert fields["offline_after"] == fields["last_seen"] == iso_at(NOW)
    assert "sample" not in fields


def test_a_failed_write_is_reported_and_the_samples_can_come_again():
    outcomes = []

    async def scenario(ingest, store):
        buffer = ingest.attach("xh", "loa-1", 120, 0)
        ingest.accept(buffer, timed(1, 2), "mqtt")
        store.fail = ConnectionError("store down")
        assert not await ingest.flushed(buffer)
        ingest.accept(buffer, timed(1, 2), "mqtt")
        ingest.when_stored(buffer, outcomes.append)
        await ingest.flushed(buffer)
        return store

    store = run(scenario)
    assert outcomes == [True]
    assert [s["seq"] for doc in store.docs for s in doc["samples"]] == [1, 2]


def test_stored_samples_whose_state_write_failed_are_acknowledged_and_the_state_rewritten():
    heard = []

    async def scenario(ingest, store):
        buffer = ingest.attach("xh", "loa-1", 120, 0)
        buffer.listener = lambda ok, through: heard.append((ok, through))
        ingest.heard(buffer, NOW)
        ingest.accept(buffer, timed(1, 2), "grpc")
        store.fail = StateNotSaved()
        assert await ingest.flushed(buffer)
        while not store.updates:
            await asyncio.sleep(0.01)
        return store

    store = run(scenario)
    assert heard[0] == (True, 2)
    assert len(store.docs) == 1
    _, _, fields, through = store.updates[0]
    assert through == 2 and fields["sample"]["seq"] == 2


class FakeMessage:
    """A kombu message as the MQTT consumer sees it; records what became of it."""

    def __init__(self, routing_key, body):
        self.delivery_info = {"routing_key": routing_key}
        self.body = body.encode() if isinstance(body, str) else body
        self.outcome = None

    def ack(self):
        self.outcome = "ack"

    def reject(self, requeue):
        self.outcome = "requeue" if requeue else "reject"

    def requeue(self):
        self.outcome = "requeue"


class Registry:
    """``EdgeStore.device`` for the MQTT consumer: registered devices only."""

    def __init__(self, *device_ids):
        self.device_ids = device_ids
        self.lookups = 0

    def device(self, commune_id, device_id):
        self.lookups += 1
        return (60, 0) if device_id in self.device_ids else None


class ChannelNow:
    """The consumer thread, running channel operations at once."""

    @staticmethod
    def call(fn):
        fn(None)


def mqtt_run(scenario, registry):
    """Run ``scenario(mqtt, ingest, store)`` with an MqttIngest fed by hand
    and a writer that flushes only when asked."""
    async def main():
        store = FakeStore()
        with ThreadPoolExecutor(2) as executor:
            ingest = Ingest(store, executor, flush_seconds=60)
            mqtt = MqttIngest(ingest, registry, executor, asyncio.get_running_loop(), "amqp://unused")
            mqtt.thread = ChannelNow()
            writer = asyncio.ensure_future(ingest.run())
            try:
                return await asyncio.wait_for(scenario(mqtt, ingest, store), 5)
            finally:
                ingest.stop()
                await writer
    return asyncio.run(main())


def mqtt_sample(seq):
    return json.dumps({"seq": seq, "sampled_at": iso_at(time.time() - 1), "volume": 20})


async def settled(*messages):
    while any(m.outcome is None for m in messages):
        await asyncio.sleep(0.01)


def test_mqtt_messages_are_acked_only_once_stored_and_bad_ones_rejected():
    registry = Registry("loa-m1")

    async def scenario(mqtt, ingest, store):
        good = [FakeMessage("tinxa.xh.loa-m1.telemetry", mqtt_sample(seq)) for seq in (1, 2)]
        bad = [FakeMessage("tinxa.xh.loa-m1.telemetry", "{oops"),
               FakeMessage("tinxa.xh.loa-m1.telemetry", json.dumps({"seq": 3, "volume": 20})),
               FakeMessage("tinxa.xh.nobody.telemetry", mqtt_sample(1)),
               FakeMessage("tinxa.xh.telemetry", mqtt_sample(1))]
        for message in good + bad:
            mqtt._on_message(message)
        await settled(*bad)
        await asyncio.sleep(0.05)
        assert [m.outcome for m in good] == [None, None] and not store.docs  # buffered, not acked
        await ingest.flush_all()
        await settled(*good)
        assert [doc["samples"][0]["seq"] for doc in store.docs] == [1] and store.docs[0]["count"] == 2
        return good, bad

    good, bad = mqtt_run(scenario, registry)
    assert [m.outcome for m in good] == ["ack", "ack"]
    assert [m.outcome for m in bad] == ["reject"] * 4
    assert registry.lookups == 2  # the registration is read once per device, not per message


def test_mqtt_messages_whose_write_failed_are_requeued():
    async def scenario(mqtt, ingest, store):
        store.fail = ConnectionError("store down")
        message = FakeMessage("tinxa.xh.loa-m1.telemetry", mqtt_sample(1))
        mqtt._on_message(message)
        while not ingest.device("xh/loa-m1"):
            await asyncio.sleep(0.01)
        await ingest.flush_all()
        await settled(message)
        return message

    assert mqtt_run(scenario, Registry("loa-m1")).outcome == "requeue"
