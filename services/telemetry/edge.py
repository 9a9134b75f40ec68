"""The DeviceLink gRPC edge of the telemetry service, in its own process.

    python -m services.telemetry.edge [--config deploy/config/telemetry-edge.yaml]

grpcio's asyncio server (never under eventlet, DESIGN.md "Processes"). A
report is answered OK only once the broker has confirmed its event, so a
device that gets anything else keeps the report and sends it again.
"""
import argparse
import asyncio
import logging
from datetime import timezone
from pathlib import Path

from services.telemetry import domain
from shared import grpc_edge
from shared.config import load_config
from shared.errors import InvalidInput
from shared.observability import CORRELATION_KEY, correlation_id
from tinxa.telemetry.v1 import devicelink_pb2, devicelink_pb2_grpc

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config" / "telemetry-edge.yaml"
SERVICE_NAME = devicelink_pb2.DESCRIPTOR.services_by_name["DeviceLinkService"].full_name


def report_fields(request):
    """A ReportStatusRequest as the domain's arguments (unset fields as None)."""
    reported_at = None
    if request.HasField("reported_at"):
        try:
            reported_at = request.reported_at.ToDatetime(tzinfo=timezone.utc)
        except (ValueError, OverflowError) as err:
            raise InvalidInput(f"Báo cáo trạng thái không hợp lệ — reported_at: không phải thời điểm hợp lệ ({err})") from err
    return {
        "commune_id": request.commune_id,
        "device_id": request.device_id,
        "online": request.online,
        "volume": request.volume if request.HasField("volume") else None,
        "playing": request.playing,
        "reported_at": reported_at,
    }


class DeviceLinkServicer(devicelink_pb2_grpc.DeviceLinkServiceServicer):
    """Errors raised here reach the device through grpc_edge.STATUS_CODES."""

    def __init__(self, bus):
        self._bus = bus

    async def ReportStatus(self, request, context):
        # Devices are not authenticated yet: DeviceLink credentials, and
        # refusing a report for another commune's device, come with issue #5.
        event = domain.status_reported_event(**report_fields(request))
        await self._bus.publish_event(domain.SOURCE, domain.STATUS_REPORTED, event,
                                      {CORRELATION_KEY: correlation_id.get()})
        return devicelink_pb2.ReportStatusResponse(event_id=event["event_id"])


async def run(config):
    bus = grpc_edge.EdgeBus(config["AMQP_URI"], timeout=float(config.get("PUBLISH_TIMEOUT_SECONDS", 5)))
    metrics = grpc_edge.start_metrics_server(int(config.get("METRICS_PORT", 9104)), {"broker": bus.check})
    try:
        await grpc_edge.serve(
            lambda server: devicelink_pb2_grpc.add_DeviceLinkServiceServicer_to_server(DeviceLinkServicer(bus), server),
            [SERVICE_NAME],
            port=int(config.get("GRPC_PORT", 50051)),
            host=config.get("GRPC_HOST", "0.0.0.0"),
            grace=float(config.get("GRPC_GRACE_SECONDS", 10)),
        )
    finally:
        metrics.shutdown()
        bus.close()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m services.telemetry.edge", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="YAML config (default: %(default)s)")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    grpc_edge.configure_logging(config)
    asyncio.run(run(config))


if __name__ == "__main__":
    main()
