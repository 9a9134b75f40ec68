"""The telemetry service: its entrypoints as units (repository twin), then
the container on the real broker and store, fed events the way the edge
publishes them."""
import pytest
from nameko.testing.services import entrypoint_hook, worker_factory

from services.telemetry import domain
from services.telemetry.service import TelemetryService
from services.telemetry.tests.fakes import FakePresenceRepository
from shared.bus import Publisher
from shared.context import CONTEXT_KEY, ROLES, Caller
from shared.errors import Forbidden, Unauthenticated
from shared.testing import wait_until
from shared.timeutil import parse_iso


def caller(commune_id="xuan-hung", *roles):
    return Caller(subject="u1", commune_id=commune_id, roles=frozenset(roles or ("viewer",)))


class CallerOf:
    """Stands in for CallerContext: the caller of the call, or none."""

    def __init__(self, who):
        self.who = who

    def current(self):
        if self.who is None:
            raise Unauthenticated("no caller")
        return self.who


def report(device_id="loa-01", at="2026-11-26T13:50:10.000Z", commune_id="xuan-hung", **changes):
    fields = dict(commune_id=commune_id, device_id=device_id, online=True, volume=40, playing=False,
                  reported_at=parse_iso(at), now=parse_iso("2026-11-26T14:00:00.000Z"))
    fields.update(changes)
    return domain.status_reported_event(**fields)


# unit: the entrypoints with the repository's twin

@pytest.fixture
def presence():
    return FakePresenceRepository()


def unit(presence, who):
    return worker_factory(TelemetryService, presence=presence, caller=CallerOf(who))


def test_a_report_becomes_the_device_presence(presence):
    event = report(volume=70, playing=True)
    unit(presence, None).record_device_status(event)
    [device] = presence.list("xuan-hung")
    assert device == {"commune_id": "xuan-hung", "device_id": "loa-01", "online": True, "volume": 70,
                      "playing": True, "last_reported_at": "2026-11-26T13:50:10.000Z",
                      "last_event_id": event["event_id"]}


def test_an_older_report_does_not_overwrite_a_newer_one(presence):
    service = unit(presence, None)
    service.record_device_status(report(at="2026-11-26T13:50:20.000Z", volume=20))
    service.record_device_status(report(at="2026-11-26T13:50:10.000Z", volume=10))
    assert presence.list("xuan-hung")[0]["volume"] == 20


@pytest.mark.parametrize("role", [r for r in ROLES if r != "district_admin"])
def test_every_commune_role_reads_its_commune_presence(presence, role):
    presence.record(domain.presence_from_event(report()))
    presence.record(domain.presence_from_event(report(commune_id="another-commune", device_id="loa-09")))
    assert [d["device_id"] for d in unit(presence, caller("xuan-hung", role)).list_presence()] == ["loa-01"]


def test_a_district_admin_names_the_commune(presence):
    presence.record(domain.presence_from_event(report()))
    district = caller(None, "district_admin")
    assert len(unit(presence, district).list_presence("xuan-hung")) == 1
    with pytest.raises(Forbidden):
        unit(presence, district).list_presence()


@pytest.mark.parametrize("who, commune_id, error", [
    (None, None, Unauthenticated),
    (Caller(subject="u1", commune_id="xuan-hung", roles=frozenset()), None, Forbidden),
    (caller("another-commune"), "xuan-hung", Forbidden),
])
def test_presence_is_refused_to_anonymous_roleless_and_other_communes(presence, who, commune_id, error):
    with pytest.raises(error):
        unit(presence, who).list_presence(commune_id)


# service: the container on the real broker and store

@pytest.fixture
def container(container_factory, service_config):
    container = container_factory(TelemetryService, service_config)
    container.start()
    return container


@pytest.fixture
def publish(service_config):
    """Publishes as the edge does: nameko's layout, with confirms."""
    publisher = Publisher(service_config["AMQP_URI"])
    yield lambda event: publisher.publish_event(domain.SOURCE, domain.STATUS_REPORTED, event,
                                                {"correlation_id": "test"})
    publisher.close()


def list_presence(container, commune_id="xuan-hung"):
    context = {CONTEXT_KEY: caller(commune_id).to_json()}
    with entrypoint_hook(container, "list_presence", context_data=context) as hook:
        return hook()


def presence_of(container, device_id):
    return {d["device_id"]: d for d in list_presence(container)}.get(device_id)


def test_a_published_report_is_stored(container, publish, mongo_database):
    event = report(volume=55)
    publish(event)
    device = wait_until(lambda: presence_of(container, "loa-01"), message="presence stored")
    assert device["volume"] == 55 and device["last_event_id"] == event["event_id"]
    processed = mongo_database.processed_events.find_one({"event_id": event["event_id"]})
    assert processed["handler"].endswith("telemetry.record_device_status")


@pytest.fixture
def one_worker(container_factory, service_config):
    """One worker at a time: events are then handled strictly in order."""
    container = container_factory(TelemetryService, dict(service_config, max_workers=1))
    container.start()
    return container


def test_a_redelivered_event_is_not_applied_twice(one_worker, publish):
    container = one_worker
    first = report(volume=30)
    publish(first)
    wait_until(lambda: presence_of(container, "loa-01"), message="first report stored")
    # the same event id again, with content that would apply if it were handled
    publish(dict(first, reported_at="2026-11-26T13:55:00.000Z", volume=90))
    # once the next event is stored, the duplicate before it was dealt with
    publish(report(device_id="loa-02"))
    wait_until(lambda: presence_of(container, "loa-02"), message="the report after the duplicate")
    device = presence_of(container, "loa-01")
    assert (device["volume"], device["last_event_id"]) == (30, first["event_id"])


def test_another_commune_does_not_see_the_device(container, publish):
    publish(report())
    wait_until(lambda: presence_of(container, "loa-01"), message="presence stored")
    assert list_presence(container, "another-commune") == []
