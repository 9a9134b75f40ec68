"""What the sync service answers, shaped as its contract says
(services/sync/API.md, "RPCs of the nameko sync service"), for tests where a
stand-in replaces it. Each function returns a fresh copy, so a test may
change what it gets."""
import copy

# 01:20 UTC is 08:20 in Vietnam
LOST_AT = "2026-03-14T01:20:00.000Z"
HUB = "tinh-ninhbinh.example.vn:443"
ERROR = "UNAVAILABLE: failed to connect to all addresses"


def link(state="disconnected", **changes):
    """Lost since 14/03/2026 08:20 (Vietnam time) with the error the agent saw, unless changed."""
    base = {"state": state, "hub": HUB, "last_contact": None if state == "never" else LOST_AT,
            "last_error": None if state == "connected" else ERROR}
    return copy.deepcopy({**base, **changes})


def up_stream(stream, produced=10, acknowledged=10, lag_seconds=0, paused=False):
    return {"stream": stream, "produced": produced, "acknowledged": acknowledged,
            "backlog": produced - acknowledged, "lag_seconds": lag_seconds, "paused": paused}


def down_stream(stream, received=5, delivered=5, paused=False):
    return {"stream": stream, "received": received, "delivered": delivered, "backlog": received - delivered,
            "paused": paused}


def status(link_state="disconnected", **changes):
    """Xuân Hưng while the link is down: broadcast statistics 3 minutes
    behind, devices paused and 2 hours 5 minutes behind; bulletins waiting
    to be delivered, provincial courses paused with one waiting."""
    base = {"commune_id": "xuan-hung", "link": link(link_state),
            "up": [up_stream("content", 120, 120),
                   up_stream("broadcast_stats", 40, 37, lag_seconds=200),
                   up_stream("devices", 900, 880, lag_seconds=7530, paused=True),
                   up_stream("tasks", 15, 15),
                   up_stream("training", 4, 4)],
            "down": [down_stream("emergency", 2, 2),
                     down_stream("bulletins", 10, 8),
                     down_stream("directives", 3, 3),
                     down_stream("courses", 1, 0, paused=True)]}
    return copy.deepcopy({**base, **changes})
