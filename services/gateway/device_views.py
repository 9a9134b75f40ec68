"""What the device pages show, worked out from the telemetry service's
answers with no I/O: devices grouped by village (thôn), how long ago a device
was heard from, numbers as each language writes them, the commune's device
map and the telemetry charts, and the villages a device list names.

The map and the charts are drawn on the server as inline SVG: the commune's
machines reach no map tiles, and the console's pages carry no scripts.
"""
import csv
import io
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

from shared.errors import InvalidInput
from shared.timeutil import VIETNAM

from services.gateway.i18n import t

# The telemetry service's codes (services/telemetry/API.md), for the console's selects and labels.
DEVICE_KINDS = ("loudspeaker", "eboard", "other")
PRESENCES = ("online", "offline", "unknown")
TRANSPORTS = ("grpc", "mqtt")
ALARM_STATUSES = ("active", "open", "acknowledged", "cleared", "all")
SEVERITIES = ("critical", "major", "minor", "warning")
# The telemetry service decides who may operate devices (API.md: OPERATE);
# the console offers its forms to the same roles.
OPERATE_ROLES = ("commune_admin", "operator")

CHART_WIDTH, CHART_HEIGHT = 640, 170
_CHART_LEFT, _CHART_RIGHT, _CHART_TOP, _CHART_BOTTOM = 52, 12, 10, 26
# a line is broken where the device said nothing for this long, or for three
# of its usual intervals if it reports more rarely: an outage is a gap in the
# chart, not a straight line across it
_GAP_SECONDS = {"raw": 15 * 60, "hourly": 2 * 3600}
_GAP_INTERVALS = 3
MAP_WIDTH, MAP_HEIGHT = 640, 420
_MAP_MARGIN = 40
# a commune whose devices stand close together is still drawn ~500 m across
_MIN_MAP_SPAN_DEGREES = 0.005
_METRES_PER_DEGREE = 111_320
_SCALE_LENGTHS = (50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000)


def parse_time(value):
    """An ISO-8601 time of another service as an aware datetime (UTC when it names no zone)."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# A stored sample's fields (API.md "Storage"); unset measurements are null.
SAMPLE_FIELDS = ("seq", "sampled_at", "received_at", "connection", "signal_dbm", "volume", "playback",
                 "playing_content_id", "playing_title", "power_source", "mains_voltage", "battery_voltage",
                 "temperature_c", "speaker_line", "brightness", "screen", "slot_active")


def sample(values):
    """A sample with every field, so a page may read any of them; None when there is none yet."""
    return dict(dict.fromkeys(SAMPLE_FIELDS), **values) if values else None


def presence(device):
    """online, offline, or unknown for a device never heard from."""
    return device.get("presence") or "unknown"


def location(device):
    """``(lat, lon)`` of a device, or None where it has no location."""
    place = device.get("location") or {}
    if place.get("lat") is None or place.get("lon") is None:
        return None
    return float(place["lat"]), float(place["lon"])


def number(value, lang, digits=1):
    """A measurement as the reader writes numbers: "41,5" in Vietnamese, "41.5" in English."""
    if value is None:
        return t("common.none", lang)
    text = f"{value:.{digits}f}" if isinstance(value, float) and not value.is_integer() else f"{value:.0f}"
    return text.replace(".", ",") if lang == "vi" else text


def percent(fraction, lang):
    """A share (0–1) as a percentage with one decimal; None is no data."""
    if fraction is None:
        return t("common.none", lang)
    return number(round(fraction * 100, 1), lang) + "%"


def ago(value, now, lang):
    """How long ago ``value`` was, in words ("5 phút trước")."""
    if not value:
        return t("device.never_seen", lang)
    seconds = max(0, (now - parse_time(value)).total_seconds())
    if seconds < 60:
        return t("ago.now", lang)
    if seconds < 3600:
        return t("ago.minutes", lang, count=int(seconds // 60))
    if seconds < 48 * 3600:
        return t("ago.hours", lang, count=int(seconds // 3600))
    return t("ago.days", lang, count=int(seconds // 86400))


def span(start, end, lang):
    """The length of a connection ("2 giờ 5 phút"); ``end`` None is now, so pass it."""
    minutes = int((parse_time(end) - parse_time(start)).total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return t("span.days", lang, days=days, hours=hours)
    if hours:
        return t("span.hours", lang, hours=hours, minutes=minutes)
    return t("span.minutes", lang, minutes=minutes)


def check_village(commune, village):
    """A device's village must be one of the commune's villages (or none)."""
    villages = commune.get("villages", ())
    if village is not None and village not in {item["id"] for item in villages}:
        raise InvalidInput(unknown_village_message(village, villages), {"village": village})


def unknown_village_message(village, villages):
    """Names the villages there are, id and name, so the list can be fixed."""
    known = "; ".join(f"{item['id']} ({item['name']})" for item in villages)
    return f"village: thôn «{village}» không có trong danh sách thôn của xã" + (f": {known}." if known else ".")


def _delimiter(header_line):
    """As the telemetry service reads a device list: comma, or the semicolon
    or tab of spreadsheets saved in a Vietnamese locale."""
    counts = {mark: header_line.count(mark) for mark in (",", ";", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def unknown_villages(csv_text, villages):
    """``[(line, device_id, village)]`` of each row of a device list naming a
    village the commune does not have; lines counted as the telemetry service
    counts them (the header is line 1). A list too broken to read is left to
    the telemetry service, which says what is wrong with it."""
    known = {item["id"] for item in villages}
    text = csv_text.lstrip("\ufeff")
    if not text.strip():
        return []
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text.splitlines()[0]))
    found = []
    try:
        columns = [name.strip().lower() for name in next(reader)]
        for row in reader:
            values = dict(zip(columns, (cell.strip() for cell in row)))
            village = values.get("village")
            if village and village not in known:
                found.append((reader.line_num, values.get("device_id", ""), village))
    except csv.Error:
        return []
    return found


def with_village_problems(result, unknown, villages):
    """The telemetry service's import preview with the gateway's village
    problems added to their rows (matched by line, else by device id)."""
    rows = [dict(row, problems=list(row.get("problems", ()))) for row in result["rows"]]
    by_line = {row.get("line"): row for row in rows}
    by_device = {row.get("device_id"): row for row in rows}
    for line, device_id, village in unknown:
        row = by_line.get(line) or by_device.get(device_id)
        if row is None:
            row = {"line": line, "device_id": device_id, "problems": []}
            rows.append(row)
        row["problems"].append(unknown_village_message(village, villages))
    invalid = sum(1 for row in rows if row["problems"])
    return dict(result, rows=rows, valid=len(rows) - invalid, invalid=invalid, created=0)


@dataclass(frozen=True)
class VillageGroup:
    """The devices of one village, with how many are in each state."""

    village_id: str | None
    name: str | None
    devices: list
    counts: Counter


def village_groups(devices, villages):
    """Devices by village in the commune's order of villages; a village the
    commune no longer lists keeps its id as its name, and devices of no
    village come last."""
    names = {village["id"]: village["name"] for village in villages}
    grouped = {}
    for device in devices:
        grouped.setdefault(device.get("village"), []).append(device)
    order = [village["id"] for village in villages if village["id"] in grouped]
    order += sorted(key for key in grouped if key is not None and key not in names)
    order += [None] if None in grouped else []
    return [VillageGroup(key, names.get(key, key), grouped[key], Counter(presence(d) for d in grouped[key]))
            for key in order]


def open_alarm_counts(alarms):
    """Active alarms per device id."""
    return Counter(alarm["device_id"] for alarm in alarms)


def device_uptime(uptime, device_id):
    """One device's share of time online in an uptime answer (None: no data)."""
    for entry in uptime.get("devices", ()):
        if entry["device_id"] == device_id:
            return entry.get("uptime")
    return None


# --- charts ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Series:
    """A measurement of the samples to chart; ``floor``/``ceiling`` fix the
    scale where the measurement has one (volume is 0–100)."""

    field: str
    unit: str
    floor: float | None = None
    ceiling: float | None = None


CHART_SERIES = (
    Series("volume", "%", 0, 100),
    Series("signal_dbm", "dBm"),
    Series("temperature_c", "°C"),
    Series("mains_voltage", "V"),
    Series("battery_voltage", "V"),
)


@dataclass(frozen=True)
class Chart:
    """An SVG line chart's geometry: ``paths`` are SVG path data, one per
    unbroken run of samples, ``dots`` the lone samples between gaps."""

    series: Series
    paths: list
    dots: list
    y_ticks: list
    x_ticks: list
    latest: float
    low: float
    high: float
    count: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    left: int = _CHART_LEFT
    right: int = CHART_WIDTH - _CHART_RIGHT


def measured(point, field):
    """A point's value of ``field`` (an hourly point's is the hour's average), or None."""
    value = point.get(field)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _scale(values, series):
    low = series.floor if series.floor is not None else math.floor(min(values))
    high = series.ceiling if series.ceiling is not None else math.ceil(max(values))
    if high <= low:
        low, high = low - 1, high + 1
    return low, high


def _usual_interval(samples):
    """The median time between consecutive points, in seconds (0 for fewer than two)."""
    steps = sorted((later[0] - earlier[0]).total_seconds() for earlier, later in zip(samples, samples[1:]))
    return steps[len(steps) // 2] if steps else 0


def line_chart(points, series, start, end, resolution, lang):
    """The chart of ``series`` over ``start``–``end`` (aware datetimes), or
    None when no point measured it."""
    samples = sorted(((parse_time(point["at"]), measured(point, series.field)) for point in points),
                     key=lambda sample: sample[0])
    values = [value for _, value in samples if value is not None]
    if not values:
        return None
    low, high = _scale(values, series)
    plot_width = CHART_WIDTH - _CHART_LEFT - _CHART_RIGHT
    plot_height = CHART_HEIGHT - _CHART_TOP - _CHART_BOTTOM
    window = max((end - start).total_seconds(), 1)

    def x(moment):
        share = min(max((moment - start).total_seconds() / window, 0), 1)
        return round(_CHART_LEFT + share * plot_width, 1)

    def y(value):
        share = (high - min(max(value, low), high)) / (high - low)
        return round(_CHART_TOP + share * plot_height, 1)

    runs, run, previous = [], [], None
    gap = max(_GAP_SECONDS.get(resolution, _GAP_SECONDS["raw"]), _GAP_INTERVALS * _usual_interval(samples))
    for moment, value in samples:
        broken = value is None or (previous is not None and (moment - previous).total_seconds() > gap)
        if broken and run:
            runs.append(run)
            run = []
        if value is not None:
            run.append((x(moment), y(value)))
        previous = moment
    if run:
        runs.append(run)
    paths = ["M" + " L".join(f"{px},{py}" for px, py in run) for run in runs if len(run) > 1]
    dots = [run[0] for run in runs if len(run) == 1]
    middle = (low + high) / 2
    y_ticks = [{"y": y(value), "label": number(value, lang)} for value in (high, middle, low)]
    time_format = "%H:%M" if window <= 2 * 86400 else "%d/%m"
    x_ticks = []
    for index in range(5):
        moment = start + (end - start) * index / 4
        x_ticks.append({"x": x(moment), "label": moment.astimezone(VIETNAM).strftime(time_format),
                        "anchor": ("start", "middle", "middle", "middle", "end")[index]})
    return Chart(series, paths, dots, y_ticks, x_ticks, values[-1], min(values), max(values), len(values))


def charts(points, start, end, resolution, lang):
    """A chart for each measurement with data, in ``CHART_SERIES`` order."""
    made = (line_chart(points, series, start, end, resolution, lang) for series in CHART_SERIES)
    return [chart for chart in made if chart is not None]


# --- the map ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class MapMark:
    device_id: str
    label: str
    presence: str
    x: float
    y: float
    anchor: str


@dataclass(frozen=True)
class DeviceMap:
    """Devices placed on the commune's bounding box (north up, equal
    distances east and north), with a scale bar of ``scale_metres``."""

    marks: list
    unplaced: list
    scale_metres: int
    scale_pixels: float
    width: int = MAP_WIDTH
    height: int = MAP_HEIGHT


def device_map(devices):
    """The map of the devices that have a location, or None when none has one."""
    located = [(device, location(device)) for device in devices]
    placed = [(device, place) for device, place in located if place]
    if not placed:
        return None
    lats = [lat for _, (lat, _) in placed]
    lons = [lon for _, (_, lon) in placed]
    centre_lat, centre_lon = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    # a degree of longitude is shorter than one of latitude by cos(latitude)
    shrink = math.cos(math.radians(centre_lat))
    span_x = max((max(lons) - min(lons)) * shrink, _MIN_MAP_SPAN_DEGREES)
    span_y = max(max(lats) - min(lats), _MIN_MAP_SPAN_DEGREES)
    pixels_per_degree = min((MAP_WIDTH - 2 * _MAP_MARGIN) / span_x, (MAP_HEIGHT - 2 * _MAP_MARGIN) / span_y)
    marks = []
    for device, (lat, lon) in placed:
        x = round(MAP_WIDTH / 2 + (lon - centre_lon) * shrink * pixels_per_degree, 1)
        y = round(MAP_HEIGHT / 2 - (lat - centre_lat) * pixels_per_degree, 1)
        marks.append(MapMark(device["device_id"], device.get("name") or device["device_id"], presence(device), x, y,
                             "end" if x > MAP_WIDTH / 2 else "start"))
    metres_per_pixel = _METRES_PER_DEGREE / pixels_per_degree
    fitting = [length for length in _SCALE_LENGTHS if length / metres_per_pixel <= MAP_WIDTH / 4]
    scale = fitting[-1] if fitting else _SCALE_LENGTHS[0]
    unplaced = [device for device, place in located if not place]
    return DeviceMap(marks, unplaced, scale, round(scale / metres_per_pixel, 1))
