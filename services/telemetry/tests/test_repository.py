"""The presence repository against the real store, and its in-memory twin
held to the same tests."""
import pytest
from pymongo.errors import DuplicateKeyError

from services.telemetry.repository import PresenceRepository
from services.telemetry.tests.fakes import FakePresenceRepository


@pytest.fixture(params=["store", "fake"])
def presence(request):
    if request.param == "fake":
        return FakePresenceRepository()
    database = request.getfixturevalue("mongo_database")
    PresenceRepository.create_indexes(database)
    return PresenceRepository(database)


def status(at, device_id="loa-01", commune_id="xuan-hung", **changes):
    return {"commune_id": commune_id, "device_id": device_id, "online": True, "volume": 50, "playing": False,
            "last_reported_at": f"2026-11-26T13:50:{at:02d}.000Z", "last_event_id": f"event-{device_id}-{at}",
            **changes}


def test_a_new_device_is_recorded(presence):
    assert presence.record(status(10)) is True
    assert presence.list("xuan-hung") == [status(10)]


def test_presence_only_moves_forward_in_time(presence):
    assert presence.record(status(10, volume=10)) is True
    assert presence.record(status(20, volume=20, playing=True)) is True
    # an older report delivered late, and the same report again, change nothing
    assert presence.record(status(15, volume=15, online=False)) is False
    assert presence.record(status(20, volume=99)) is False
    assert presence.list("xuan-hung") == [status(20, volume=20, playing=True)]


def test_devices_are_listed_per_commune_by_id(presence):
    presence.record(status(10, device_id="loa-02"))
    presence.record(status(11, device_id="loa-01"))
    presence.record(status(12, device_id="loa-01", commune_id="another-commune"))
    assert [d["device_id"] for d in presence.list("xuan-hung")] == ["loa-01", "loa-02"]
    assert [d["commune_id"] for d in presence.list("another-commune")] == ["another-commune"]
    assert presence.list("nobody") == []


def test_same_device_id_in_two_communes_are_two_devices(presence):
    presence.record(status(30, commune_id="a"))
    assert presence.record(status(10, commune_id="b")) is True
    assert presence.list("a")[0]["last_reported_at"].endswith(":30.000Z")
    assert presence.list("b")[0]["last_reported_at"].endswith(":10.000Z")


class RacingCollection:
    """The collection, with another worker's first report of the same device
    inserted between the upsert's match and its insert (what the server
    reports as a duplicate key)."""

    def __init__(self, collection, competitor):
        self._collection = collection
        self._competitor = competitor

    def update_one(self, query, update, upsert=False):
        if upsert and self._competitor is not None:
            self._collection.insert_one(self._competitor)
            self._competitor = None
            raise DuplicateKeyError("E11000 duplicate key error")
        return self._collection.update_one(query, update, upsert=upsert)


@pytest.mark.parametrize("competitor_at, kept_at, applied", [(5, 10, True), (15, 15, False)])
def test_a_concurrent_first_report_still_keeps_the_newest(mongo_database, competitor_at, kept_at, applied):
    PresenceRepository.create_indexes(mongo_database)
    presence = PresenceRepository(mongo_database)
    presence._collection = RacingCollection(mongo_database.presence, {"_id": "other", **status(competitor_at)})
    assert presence.record(status(10)) is applied
    assert mongo_database.presence.find_one({"device_id": "loa-01"})["last_reported_at"].endswith(f":{kept_at}.000Z")
