"""Indicators of live operations for the official report (chỉ số hoạt động).

Each indicator is fed by events of the service that produces it, consumed
into the tasks service's read model. An indicator whose producer does not
exist yet has no data: the report says "chưa có dữ liệu", never 0.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    unit: str  # count | hours | percent
    producer: str | None  # the service whose events feed it; None: not built yet


INDICATORS = (
    Indicator("items_published_website", "Tin, bài đăng trên Trang TTĐT, mạng xã hội", "count", "content"),
    Indicator("items_published_radio", "Bản tin đưa lên đài truyền thanh", "count", "content"),
    Indicator("items_published_eboard", "Thông báo trên bảng tin điện tử", "count", "content"),
    Indicator("broadcasts", "Số lượt phát thanh", "count", "broadcast"),
    Indicator("broadcast_hours", "Số giờ phát thanh", "hours", "broadcast"),
    Indicator("devices_online_share", "Tỷ lệ cụm loa, bảng tin hoạt động", "percent", "telemetry"),
    Indicator("devices_uptime", "Thời gian hoạt động bình quân của cụm loa, bảng tin", "percent", "telemetry"),
    Indicator("communicators_in_place", "Tuyên truyền viên cơ sở đang hoạt động", "count", "training"),
    Indicator("communicators_target", "Tuyên truyền viên cơ sở theo định biên", "count", "training"),
    Indicator("communicators_vacant", "Thôn còn thiếu tuyên truyền viên", "count", "training"),
    Indicator("people_trained", "Lượt người được tập huấn, bồi dưỡng", "count", "training"),
    Indicator("people_trained_radio_operation",
              "— trong đó: vận hành đài truyền thanh ứng dụng CNTT-VT, hệ thống thông tin nguồn", "count", "training"),
    Indicator("people_trained_content_production",
              "— trong đó: sản xuất tin, phóng sự, chương trình phát thanh", "count", "training"),
    Indicator("people_trained_oral_propaganda", "— trong đó: tuyên truyền miệng", "count", "training"),
    Indicator("people_trained_foreign_information", "— trong đó: thông tin đối ngoại", "count", "training"),
)

TRAINING_TOPICS = ("radio_operation", "content_production", "oral_propaganda", "foreign_information")


def devices_online_share(device_states):
    """Share (0–1) of the commune's known devices whose latest report says online."""
    if not device_states:
        return None
    return sum(1 for state in device_states if state["online"]) / len(device_states)


def devices_uptime(days):
    """Mean uptime (0–1) over the days reported, each day weighted by its
    number of devices; None when no day in the period was reported."""
    weighted = [(day["uptime"], day["devices"]) for day in days if day.get("uptime") is not None and day["devices"]]
    devices = sum(n for _, n in weighted)
    return sum(u * n for u, n in weighted) / devices if devices else None


# which channels of a publication count for which indicator
PUBLICATION_CHANNELS = {
    "items_published_website": ("website", "social"),
    "items_published_radio": ("radio",),
    "items_published_eboard": ("eboard",),
}


def publication_counts(publications):
    """Publications (each a list of channels) counted per indicator."""
    return {key: sum(1 for channels in publications if set(channels) & set(wanted))
            for key, wanted in PUBLICATION_CHANNELS.items()}


def broadcast_totals(days):
    """Plays (lượt phát) and device hours of broadcasting summed over the days
    the broadcast service reported; both None when no day was reported."""
    if not days:
        return {"broadcasts": None, "broadcast_hours": None}
    return {"broadcasts": sum(day["plays"] for day in days),
            "broadcast_hours": round(sum(day["hours"] for day in days), 2)}


def training_totals(roster_count, completions):
    """The roster as the training service last counted it by the period's end
    (communicators in place, the target, villages short of communicators), and
    people trained in the period, in all and per topic (a course of several
    topics counts its people under each). All None while the training service
    has never counted the commune's roster: it is not in use there yet."""
    keys = ("communicators_in_place", "communicators_target", "communicators_vacant", "people_trained",
            *(f"people_trained_{topic}" for topic in TRAINING_TOPICS))
    if roster_count is None:
        return dict.fromkeys(keys)
    totals = {"communicators_in_place": roster_count["in_place"], "communicators_target": roster_count["target"],
              "communicators_vacant": roster_count["villages_short"],
              "people_trained": sum(c["people"] for c in completions)}
    for topic in TRAINING_TOPICS:
        totals[f"people_trained_{topic}"] = sum(c["people"] for c in completions if topic in c["topics"])
    return totals


def values(device_states, publications, uptime_days=(), broadcast_days=(), roster_count=None, completions=()):
    """Every indicator with its value, or None where no producer feeds it yet
    (or, for a share, nothing has reported)."""
    computed = {"devices_online_share": devices_online_share(device_states),
                "devices_uptime": devices_uptime(uptime_days), **publication_counts(publications),
                **broadcast_totals(broadcast_days), **training_totals(roster_count, completions)}
    return [
        {"key": i.key, "label": i.label, "unit": i.unit, "value": computed.get(i.key) if i.producer else None}
        for i in INDICATORS
    ]
