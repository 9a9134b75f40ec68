"""Caller errors over RPC: the caller gets the service's error back, with
its message and details (what a console needs to show), not a bare
RemoteError."""
import pytest
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy

from shared.errors import CALLER_ERRORS, Conflict, InvalidInput, NotFound, load


class Refusing:
    name = "refusing"

    @rpc(expected_exceptions=CALLER_ERRORS)
    def emergency(self):
        raise Conflict("Phát khẩn cấp sẽ ngắt mọi nội dung đang phát trên 2 thiết bị.",
                       {"confirmation_required": True, "device_count": 2, "devices": ["LOA-1", "LOA-2"]})

    @rpc(expected_exceptions=CALLER_ERRORS)
    def missing(self):
        raise NotFound("Không tìm thấy.")


def test_an_errors_message_and_details_reach_the_caller(container_factory, rabbit_config):
    container = container_factory(Refusing, rabbit_config)
    container.start()
    with ServiceRpcProxy("refusing", rabbit_config) as proxy:
        with pytest.raises(Conflict) as refused:
            proxy.emergency()
        with pytest.raises(NotFound) as missing:
            proxy.missing()
    assert refused.value.message == str(refused.value) == "Phát khẩn cấp sẽ ngắt mọi nội dung đang phát trên 2 thiết bị."
    # JSON on the way: numbers and booleans arrive as text, lists and maps as they were
    assert refused.value.details == {"confirmation_required": "True", "device_count": "2", "devices": ["LOA-1", "LOA-2"]}
    assert (missing.value.message, missing.value.details) == ("Không tìm thấy.", {})


def test_a_validation_error_lists_its_fields_in_its_details():
    from marshmallow import Schema, fields

    class One(Schema):
        n = fields.Integer(required=True)

    with pytest.raises(InvalidInput) as refused:
        load(One, {})
    assert "n" in refused.value.details["fields"] and str(refused.value).startswith("Dữ liệu không hợp lệ")
