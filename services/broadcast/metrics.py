"""What the broadcast service tells Prometheus (scraped on its METRICS_PORT):
broadcasts created, per-device deliveries by the state they reached, how
long devices took to acknowledge, and escalations. The Grafana dashboard
"Phát thanh" and the alert rules in deploy/prometheus/alerts.yml read them.

Counters count transitions written by this process (a delivery moved twice
by two passes is counted once: ``move`` only counts documents it changed).
"""
from prometheus_client import Counter, Histogram

BROADCASTS = Counter("tinxa_broadcasts_total", "Broadcasts created (a CAP Update is not counted again), by commune, "
                     "origin and level", ["commune_id", "origin", "level"])
DELIVERIES = Counter("tinxa_broadcast_deliveries_total", "Per-device deliveries that reached a state (queued, sent, "
                     "acknowledged, playing, played, failed), by commune and level",
                     ["commune_id", "level", "state"])
ACKNOWLEDGEMENT_SECONDS = Histogram("tinxa_broadcast_acknowledgement_seconds",
                                    "From a broadcast's dispatch to a device's acknowledgement, by level", ["level"],
                                    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800))
ESCALATIONS = Counter("tinxa_broadcast_escalations_total", "Broadcasts escalated: too few devices acknowledged in "
                      "time, by commune and level", ["commune_id", "level"])


def on_air(broadcast):
    """Create the commune's escalation and failure series at 0 while a
    broadcast is on air, so that the first of each is an increase the alert
    rules see (a series born at 1 is not)."""
    ESCALATIONS.labels(broadcast["commune_id"], broadcast["level"])
    DELIVERIES.labels(broadcast["commune_id"], broadcast["level"], "failed")


def created(broadcast):
    BROADCASTS.labels(broadcast["commune_id"], broadcast["origin"], broadcast["level"]).inc()


def moved(broadcast, state, count):
    if count:
        DELIVERIES.labels(broadcast["commune_id"], broadcast["level"], state).inc(count)


def acknowledged(broadcast, seconds):
    ACKNOWLEDGEMENT_SECONDS.labels(broadcast["level"]).observe(max(0.0, seconds))


def escalated(broadcast):
    ESCALATIONS.labels(broadcast["commune_id"], broadcast["level"]).inc()
