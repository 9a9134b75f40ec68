"""The telemetry service (giám sát thiết bị): what the commune's loudspeaker
devices report, starting with their presence.

Devices talk to the DeviceLink gRPC edge (``edge.py``, its own process); the
edge publishes their reports as events, which this service applies.
"""
import logging

from nameko.rpc import rpc

from services.telemetry import domain
from services.telemetry.repository import PresenceRepository
from shared.context import READ_ROLES, CallerContext
from shared.errors import CALLER_ERRORS
from shared.handlers import event_handler
from shared.mongo import Store
from shared.observability import Observability

log = logging.getLogger(__name__)

class TelemetryService:
    name = "telemetry"

    caller = CallerContext()
    presence = Store(PresenceRepository)
    observability = Observability()

    @event_handler(domain.SOURCE, domain.STATUS_REPORTED)
    def record_device_status(self, event):
        """Keep a device's reported status, unless a newer one is kept."""
        presence = domain.presence_from_event(event)
        if not self.presence.record(presence):
            log.info("report %s of %s/%s is not newer than the kept one; ignored",
                     event["event_id"], event["commune_id"], event["device_id"])

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_presence(self, commune_id=None):
        """The latest reported status of every device of the commune."""
        caller = self.caller.current().require(*READ_ROLES)
        return self.presence.list(caller.commune_for(commune_id))
