"""Unit tests: report validation, the presence a report gives, the edge's
reading of a protobuf request and its error table. No I/O."""
from datetime import datetime, timedelta, timezone

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from services.telemetry import domain
from services.telemetry.edge import report_fields
from shared import errors
from shared.events import validate_event
from shared.grpc_edge import INTERNAL_MESSAGE, BusUnavailable, status_for
from tinxa.telemetry.v1 import devicelink_pb2

NOW = datetime(2026, 11, 26, 13, 50, 44, 693000, tzinfo=timezone.utc)


def report(**changes):
    fields = dict(commune_id="xuan-hung", device_id="loa-01", online=True, volume=60, playing=False,
                  reported_at=NOW - timedelta(seconds=3), now=NOW)
    fields.update(changes)
    return fields


def test_a_valid_report_becomes_a_catalogued_event():
    event = domain.status_reported_event(**report())
    assert validate_event("telemetry", "device_status_reported", event) == event
    assert event["commune_id"] == "xuan-hung" and event["device_id"] == "loa-01"
    assert event["online"] is True and event["volume"] == 60 and event["playing"] is False
    assert event["reported_at"] == "2026-11-26T13:50:41.693Z"
    assert len(event["event_id"]) == 32 and event["schema_version"] == 1


@pytest.mark.parametrize("changes", [
    {"volume": None},
    {"volume": 0},
    {"volume": 100},
    {"reported_at": NOW + timedelta(minutes=4)},
    {"reported_at": NOW - timedelta(days=30)},
    {"device_id": "x" * 64},
])
def test_boundary_reports_are_accepted(changes):
    assert domain.status_reported_event(**report(**changes))["device_id"] == report(**changes)["device_id"]


@pytest.mark.parametrize("changes, problem", [
    ({"commune_id": ""}, "commune_id: thiếu mã xã"),
    ({"commune_id": "   "}, "commune_id: thiếu mã xã"),
    ({"commune_id": "x" * 65}, "commune_id: mã xã dài quá 64 ký tự"),
    ({"device_id": ""}, "device_id: thiếu mã thiết bị"),
    ({"device_id": "d" * 65}, "device_id: mã thiết bị dài quá 64 ký tự"),
    ({"volume": -1}, "volume: âm lượng phải từ 0 đến 100 (nhận -1)"),
    ({"volume": 101}, "volume: âm lượng phải từ 0 đến 100 (nhận 101)"),
    ({"reported_at": None}, "reported_at: thiếu thời điểm báo cáo"),
    ({"reported_at": NOW + timedelta(minutes=6)}, "reported_at: thời điểm 2026-11-26T13:56:44.693Z ở tương lai"),
])
def test_each_rule_refuses_a_bad_report_with_a_readable_message(changes, problem):
    with pytest.raises(errors.InvalidInput) as caught:
        domain.status_reported_event(**report(**changes))
    assert caught.value.message.startswith("Báo cáo trạng thái không hợp lệ — ")
    assert problem in caught.value.message


def test_every_problem_is_named_at_once():
    with pytest.raises(errors.InvalidInput) as caught:
        domain.status_reported_event(**report(commune_id="", device_id="", volume=500, reported_at=None))
    assert len(caught.value.details["problems"]) == 4


@pytest.mark.parametrize("reported_at, stored", [
    ("2026-11-26T13:50:41.693Z", "2026-11-26T13:50:41.693Z"),
    ("2026-11-26T20:50:41+07:00", "2026-11-26T13:50:41.000Z"),
    ("2026-11-26T13:50:41", "2026-11-26T13:50:41.000Z"),
])
def test_presence_keeps_the_report_time_in_one_comparable_form(reported_at, stored):
    event = dict(domain.status_reported_event(**report()), reported_at=reported_at)
    presence = domain.presence_from_event(event)
    assert presence["last_reported_at"] == stored
    assert presence["last_event_id"] == event["event_id"]
    assert (presence["online"], presence["volume"], presence["playing"]) == (True, 60, False)


def test_the_edge_reads_unset_protobuf_fields_as_missing():
    fields = report_fields(devicelink_pb2.ReportStatusRequest(commune_id="xuan-hung", device_id="loa-01"))
    assert fields["volume"] is None and fields["reported_at"] is None
    stamp = Timestamp()
    stamp.FromDatetime(NOW)
    fields = report_fields(devicelink_pb2.ReportStatusRequest(volume=0, reported_at=stamp, online=True))
    assert fields["volume"] == 0 and fields["reported_at"] == NOW and fields["online"] is True


def test_the_edge_refuses_a_timestamp_out_of_range():
    request = devicelink_pb2.ReportStatusRequest(reported_at=Timestamp(seconds=10**12))
    with pytest.raises(errors.InvalidInput, match="reported_at"):
        report_fields(request)


class RemoteError(Exception):
    """Stands for nameko's RemoteError, which names the original class."""

    def __init__(self, exc_type, message):
        super().__init__(message)
        self.exc_type = exc_type


@pytest.mark.parametrize("error, code", [
    (errors.InvalidInput("x"), grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound("x"), grpc.StatusCode.NOT_FOUND),
    (errors.Forbidden("x"), grpc.StatusCode.PERMISSION_DENIED),
    (errors.Unauthenticated("x"), grpc.StatusCode.UNAUTHENTICATED),
    (errors.Conflict("x"), grpc.StatusCode.ABORTED),
    (BusUnavailable("x"), grpc.StatusCode.UNAVAILABLE),
    (RemoteError("NotFound", "x"), grpc.StatusCode.NOT_FOUND),
    (RemoteError("Forbidden", "x"), grpc.StatusCode.PERMISSION_DENIED),
])
def test_errors_map_to_status_codes_with_their_message(error, code):
    assert status_for(error) == (code, "x")


@pytest.mark.parametrize("error", [ValueError("secret detail"), RemoteError("KeyError", "secret detail")])
def test_unexpected_errors_are_internal_without_their_detail(error):
    assert status_for(error) == (grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)
