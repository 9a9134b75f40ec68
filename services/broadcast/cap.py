"""CAP 1.2 alerts (OASIS Common Alerting Protocol) from the provincial or
national source systems: parsed safely, mapped to a bulletin level and to the
commune's zones, turned into the text to speak — the rules, with no I/O.

Parsing. The document is refused before parsing when larger than
``max_bytes``; defusedxml then refuses any DTD (so no entity is ever declared,
let alone expanded: billion laughs and ``file://`` XXE die at ``<!DOCTYPE``)
and any entity or external reference. The root must be ``alert`` in the
namespace ``urn:oasis:names:tc:emergency:cap:1.2``. Elements are read by name
and their order is not checked (senders get it wrong, the meaning does not
depend on it); unknown elements, other namespaces and ``<resource>`` are
ignored: speech is synthesised from the text. Every problem is an
``InvalidInput`` whose message names the element ("CAP không hợp lệ —
alert/info[1]/urgency: …") and whose details carry it as ``element``.

The result is a plain dict keyed by CAP's own element names. Times are ISO
UTC strings (``shared.timeutil.iso``); a time must carry its offset
("+07:00"; "Z" is tolerated although CAP forbids it). An info block without
``effective`` takes the alert's ``sent``, as CAP 1.2 says.

Levels (Circular 39/2020/TT-BTTTT: thông thường / ưu tiên / khẩn cấp), for a
message with status Actual, first rule that applies:

=========  ==========================================================================
level      when
=========  ==========================================================================
emergency  urgency Immediate, severity Extreme or Severe, certainty Observed or Likely
normal     urgency Past (the event is over) or certainty Unlikely (not expected)
priority   urgency Immediate or Expected, or severity Extreme or Severe
normal     anything else (Future/Unknown urgency with Moderate/Minor/Unknown severity)
=========  ==========================================================================

An Exercise (diễn tập) is capped at priority: a drill is played ahead of the
commune's ordinary items but never interrupts what is on air as a real
emergency does, and its speech begins "Đây là tin diễn tập.". Test, System
and Draft messages are not meant for the public (CAP 1.2 §3.2.1): always
normal — the level at which the commune decides whether to play anything.

Linking. ``key(alert)`` is "sender,identifier,sent" (sent normalised to UTC),
the same form as each entry of ``reference_keys(alert)``, so an Update or
Cancel finds the broadcast of the alert it references whatever offset the
sender wrote its times with.
"""
import re
import unicodedata
from datetime import datetime, timezone
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from shared.errors import InvalidInput
from shared.text import fold
from shared.timeutil import iso, parse_iso

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
MAX_BYTES = 256 * 1024

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
              "CBRNE", "Other")
RESPONSE_TYPES = ("Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
# message types that act on earlier messages and so must say which
REFERRING_TYPES = ("Update", "Cancel", "Ack", "Error")

EXERCISE_PREFIX = "Đây là tin diễn tập."

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)")
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")
# CAP: identifier and sender "MUST NOT include spaces, commas or restricted characters (< and &)"
_IDENTIFIER = re.compile(r"[^\s,<&]+")


def _fail(path, problem):
    raise InvalidInput(f"CAP không hợp lệ — {path}: {problem}", {"element": path})


# ---------------------------------------------------------------- parsing


def parse(data, max_bytes=MAX_BYTES):
    """The CAP 1.2 alert in ``data`` (bytes) as a plain dict; InvalidInput
    naming the element at the first problem."""
    if not isinstance(data, (bytes, bytearray)):
        raise InvalidInput("CAP không hợp lệ — nội dung phải là tài liệu XML (bytes).", {"element": "alert"})
    if len(data) > max_bytes:
        raise InvalidInput(f"CAP không hợp lệ — tài liệu quá lớn ({len(data)} byte; tối đa {max_bytes} byte).",
                           {"element": "alert"})
    try:
        root = SafeET.fromstring(bytes(data), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise InvalidInput("CAP không hợp lệ — tài liệu có khai báo DOCTYPE/DTD; không chấp nhận DTD, thực thể "
                           "(entity) hay tham chiếu ra ngoài.", {"element": "DOCTYPE"}) from None
    except (EntitiesForbidden, ExternalReferenceForbidden):
        raise InvalidInput("CAP không hợp lệ — tài liệu khai báo thực thể (entity) hoặc tham chiếu ra ngoài; "
                           "không được chấp nhận.", {"element": "ENTITY"}) from None
    except ParseError as err:
        raise InvalidInput(f"CAP không hợp lệ — không phải XML hợp lệ ({err}).", {"element": "alert"}) from None
    if root.tag != _q("alert"):
        namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
        if local == "alert":
            _fail("alert", f"sai không gian tên (namespace) «{namespace or 'không có'}»; "
                           f"CAP 1.2 phải dùng «{NAMESPACE}».")
        _fail(local, f"phần tử gốc phải là «alert» trong không gian tên «{NAMESPACE}».")
    return _alert(root)


def _q(name):
    return f"{{{NAMESPACE}}}{name}"


def _texts(parent, name, path):
    """The stripped texts of ``parent``'s children called ``name``; an empty
    one is refused."""
    values = []
    for child in parent.findall(_q(name)):
        value = (child.text or "").strip()
        if not value:
            _fail(f"{path}/{name}", "phần tử rỗng.")
        values.append(unicodedata.normalize("NFC", value))
    return values


def _text(parent, name, path, required=False):
    values = _texts(parent, name, path)
    if len(values) > 1:
        _fail(f"{path}/{name}", "chỉ được có một phần tử này.")
    if not values:
        if required:
            _fail(f"{path}/{name}", "thiếu phần tử bắt buộc.")
        return None
    return values[0]


def _choice(value, allowed, path):
    if value is not None and value not in allowed:
        _fail(path, f"giá trị không hợp lệ «{value}» (chọn một trong {', '.join(allowed)}).")
    return value


def _time(value, path):
    """ISO UTC string of a CAP dateTime (which must carry its offset)."""
    if value is None:
        return None
    if not _TIME.fullmatch(value):
        _fail(path, f"thời điểm không hợp lệ «{value}» (dạng 2026-10-27T14:30:00+07:00, có múi giờ).")
    try:
        return iso(datetime.fromisoformat(value).astimezone(timezone.utc))
    except ValueError:
        _fail(path, f"thời điểm không tồn tại «{value}».")


def _identifier(value, path):
    if value is not None and not _IDENTIFIER.fullmatch(value):
        _fail(path, f"«{value}» không được chứa khoảng trắng, dấu phẩy, '<' hay '&'.")
    return value


def _pairs(parent, name, path):
    """``eventCode``, ``parameter`` and ``geocode``: valueName/value pairs."""
    pairs = []
    for index, element in enumerate(parent.findall(_q(name)), 1):
        where = f"{path}/{name}[{index}]"
        pairs.append({"valueName": _text(element, "valueName", where, required=True),
                      "value": _text(element, "value", where, required=True)})
    return pairs


def _alert(root):
    path = "alert"
    alert = {
        "identifier": _identifier(_text(root, "identifier", path, True), f"{path}/identifier"),
        "sender": _identifier(_text(root, "sender", path, True), f"{path}/sender"),
        "sent": _time(_text(root, "sent", path, True), f"{path}/sent"),
        "status": _choice(_text(root, "status", path, True), STATUSES, f"{path}/status"),
        "msgType": _choice(_text(root, "msgType", path, True), MSG_TYPES, f"{path}/msgType"),
        "source": _text(root, "source", path),
        "scope": _choice(_text(root, "scope", path, True), SCOPES, f"{path}/scope"),
        "restriction": _text(root, "restriction", path),
        "addresses": _text(root, "addresses", path),
        "code": _texts(root, "code", path),
        "note": _text(root, "note", path),
        "references": _references(_text(root, "references", path), f"{path}/references"),
        "incidents": _text(root, "incidents", path),
    }
    if alert["scope"] == "Restricted" and not alert["restriction"]:
        _fail(f"{path}/restriction", "bắt buộc khi scope là Restricted.")
    if alert["scope"] == "Private" and not alert["addresses"]:
        _fail(f"{path}/addresses", "bắt buộc khi scope là Private.")
    if alert["msgType"] in REFERRING_TYPES and not alert["references"]:
        _fail(f"{path}/references", f"bắt buộc với msgType {alert['msgType']}: phải nêu tin cảnh báo gốc.")
    alert["info"] = [_info(element, f"{path}/info[{index}]", alert["sent"])
                     for index, element in enumerate(root.findall(_q("info")), 1)]
    return alert


def _references(value, path):
    """"sender,identifier,sent" triples separated by whitespace."""
    if value is None:
        return []
    references = []
    for entry in value.split():
        parts = entry.split(",")
        if len(parts) != 3 or not all(parts):
            _fail(path, f"«{entry}» không có dạng sender,identifier,sent.")
        sender, identifier, sent = parts
        references.append({"sender": sender, "identifier": identifier, "sent": _time(sent, path)})
    return references


def _info(element, path, sent):
    language = _text(element, "language", path) or "en-US"
    if not _LANGUAGE.fullmatch(language):
        _fail(f"{path}/language", f"mã ngôn ngữ không hợp lệ «{language}» (ví dụ vi-VN).")
    categories = _texts(element, "category", path)
    if not categories:
        _fail(f"{path}/category", "thiếu phần tử bắt buộc.")
    for category in categories:
        _choice(category, CATEGORIES, f"{path}/category")
    response_types = _texts(element, "responseType", path)
    for response_type in response_types:
        _choice(response_type, RESPONSE_TYPES, f"{path}/responseType")
    return {
        "language": language,
        "category": categories,
        "event": _text(element, "event", path, True),
        "responseType": response_types,
        "urgency": _choice(_text(element, "urgency", path, True), URGENCIES, f"{path}/urgency"),
        "severity": _choice(_text(element, "severity", path, True), SEVERITIES, f"{path}/severity"),
        "certainty": _choice(_text(element, "certainty", path, True), CERTAINTIES, f"{path}/certainty"),
        "eventCode": _pairs(element, "eventCode", path),
        "effective": _time(_text(element, "effective", path), f"{path}/effective") or sent,
        "onset": _time(_text(element, "onset", path), f"{path}/onset"),
        "expires": _time(_text(element, "expires", path), f"{path}/expires"),
        "senderName": _text(element, "senderName", path),
        "headline": _text(element, "headline", path),
        "description": _text(element, "description", path),
        "instruction": _text(element, "instruction", path),
        "web": _text(element, "web", path),
        "contact": _text(element, "contact", path),
        "parameters": _pairs(element, "parameter", path),
        "areas": [_area(area, f"{path}/area[{index}]")
                  for index, area in enumerate(element.findall(_q("area")), 1)],
    }


def _area(element, path):
    return {
        "areaDesc": _text(element, "areaDesc", path, True),
        "polygons": [_polygon(text, f"{path}/polygon") for text in _texts(element, "polygon", path)],
        "circles": [_circle(text, f"{path}/circle") for text in _texts(element, "circle", path)],
        "geocodes": _pairs(element, "geocode", path),
        "altitude": _number(_text(element, "altitude", path), f"{path}/altitude"),
        "ceiling": _number(_text(element, "ceiling", path), f"{path}/ceiling"),
    }


def _number(value, path):
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        _fail(path, f"«{value}» không phải là số.")


def _point(text, path):
    """A WGS 84 "lat,lon" pair."""
    parts = text.split(",")
    try:
        lat, lon = (float(part) for part in parts)
    except ValueError:
        _fail(path, f"toạ độ «{text}» không có dạng vĩ độ,kinh độ.")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        _fail(path, f"toạ độ «{text}» nằm ngoài phạm vi (vĩ độ ±90, kinh độ ±180).")
    return [lat, lon]


def _polygon(text, path):
    points = [_point(pair, path) for pair in text.split()]
    if len(points) < 4 or points[0] != points[-1]:
        _fail(path, "đa giác cần ít nhất 4 cặp toạ độ, cặp đầu trùng cặp cuối.")
    return points


def _circle(text, path):
    parts = text.split()
    if len(parts) != 2:
        _fail(path, f"«{text}» không có dạng «vĩ độ,kinh độ bán_kính_km».")
    radius_km = _number(parts[1], path)
    if radius_km < 0:
        _fail(path, f"bán kính âm «{parts[1]}».")
    return {"center": _point(parts[0], path), "radius_km": radius_km}


# ---------------------------------------------------------------- meaning


def preferred_info(alert, language="vi-VN"):
    """The info block to broadcast: the first in ``language``, else the first
    in its primary language ("vi"), else the first block of all (the caller
    can see its ``language``). InvalidInput if the alert has none."""
    blocks = alert["info"]
    if not blocks:
        raise InvalidInput("CAP không hợp lệ — alert/info: tin cảnh báo không có khối info nào để phát.",
                           {"element": "alert/info"})
    wanted = language.lower()
    primary = wanted.split("-")[0]
    for test in (lambda tag: tag == wanted, lambda tag: tag.split("-")[0] == primary):
        for info in blocks:
            if test(info["language"].lower()):
                return info
    return blocks[0]


def level_for(info, status="Actual"):
    """normal | priority | emergency for an info block of a message with
    ``status`` (see the table in the module docstring)."""
    urgency, severity, certainty = info["urgency"], info["severity"], info["certainty"]
    grave = severity in ("Extreme", "Severe")
    if urgency == "Immediate" and grave and certainty in ("Observed", "Likely"):
        level = "emergency"
    elif urgency == "Past" or certainty == "Unlikely":
        level = "normal"
    elif urgency in ("Immediate", "Expected") or grave:
        level = "priority"
    else:
        level = "normal"
    if status == "Exercise":
        return "priority" if level == "emergency" else level
    if status != "Actual":
        return "normal"
    return level


# ---------------------------------------------------------------- areas

# words that introduce a village (thôn, xóm, làng, bản, ấp, tổ dân phố, khu phố), folded
_VILLAGE_WORDS = (("to", "dan", "pho"), ("khu", "pho"), ("thon",), ("xom",), ("lang",), ("ban",), ("ap",))
# what may follow a commune's name in an address: "xã Xuân Hưng, tỉnh …", "xã Xuân Hưng huyện …"
_ADMIN_WORDS = frozenset({"huyen", "tinh", "thanh", "thi", "quan", "tp", "tx"})
_DESIGNATOR = re.compile(r"\d+[a-z]?")
_LIST_SEPARATORS = frozenset({",", ";", "va", "-", "den"})
_RANGE_SEPARATORS = frozenset({"-", "den"})
_MAX_RANGE = 30


def _tokens(text):
    """Folded words and punctuation marks of ``text``."""
    return re.findall(r"\w+|[^\w\s]", fold(unicodedata.normalize("NFC", text or "")))


def _expand_lists(tokens):
    """"thôn 1, 2 và 5" → "thôn 1 , thôn 2 và thôn 5", and "thôn 1 đến
    (thôn) 4" or "thôn 1-4" → every one of 1 to 4: officials list numbered
    villages after one "thôn"."""
    out, index = [], 0
    while index < len(tokens):
        prefix = _prefix_at(tokens, index)
        if prefix is None or not _is_designator(tokens, index + len(prefix)):
            out.append(tokens[index])
            index += 1
            continue
        index += len(prefix)
        last = tokens[index]
        out.extend([*prefix, last])
        index += 1
        while index < len(tokens) and tokens[index] in _LIST_SEPARATORS:
            after = index + 1
            if _prefix_at(tokens, after) == prefix:
                after += len(prefix)
            if not _is_designator(tokens, after):
                break
            following = tokens[after]
            if tokens[index] in _RANGE_SEPARATORS and last.isdigit() and following.isdigit() \
                    and 0 < int(following) - int(last) <= _MAX_RANGE:
                for number in range(int(last) + 1, int(following)):
                    out.extend([",", *prefix, str(number)])
            out.extend([tokens[index], *prefix, following])
            last, index = following, after + 1
    return out


def _prefix_at(tokens, index):
    return next((words for words in _VILLAGE_WORDS if tuple(tokens[index:index + len(words)]) == words), None)


def _is_designator(tokens, index):
    return index < len(tokens) and bool(_DESIGNATOR.fullmatch(tokens[index]))


def _find(tokens, phrase):
    """Start indexes where ``phrase`` (tokens) occurs as whole tokens."""
    size = len(phrase)
    return [start for start in range(len(tokens) - size + 1) if tokens[start:start + size] == phrase]


def _commune_mentions(tokens, name):
    """(ours, others): whether ``tokens`` name "xã <name>" (or the whole
    commune: "toàn xã"), and whether they name any other commune."""
    ours = others = False
    for start in _find(tokens, ["xa"]):
        before = tokens[start - 1] if start else ""
        if before == "toan":
            ours = True
            continue
        if before == "thi":  # thị xã: a town, not a commune
            continue
        end = start + 1 + len(name)
        after = tokens[end] if end < len(tokens) else None
        if (tokens[start + 1:end] == name
                and (after is None or not after[0].isalnum() or after in _ADMIN_WORDS)):
            ours = True
        else:
            others = True
    return ours, others


def _village_matches(tokens, villages):
    """Ids of the villages named in ``tokens``; where names overlap ("Thôn
    Đông" inside "Thôn Đông Hải"), the longest wins."""
    spans = []
    for village in villages:
        phrase = _tokens(village["name"])
        if phrase:
            spans += [(start, start + len(phrase), village["id"]) for start in _find(tokens, phrase)]
    spans.sort(key=lambda span: (span[0] - span[1], span[0]))
    taken, found = set(), []
    for start, end, village_id in spans:
        if taken.isdisjoint(range(start, end)):
            taken.update(range(start, end))
            found.append(village_id)
    return found


def areas_to_targets(areas, commune_name, villages):
    """Which of the commune's villages (``[{id, name}]``) the CAP areas name.

    An area reaches the villages it names (accents, case and punctuation
    ignored; "thôn 1, 2 và 5" names three) or whose id a geocode value
    equals. An area naming this commune ("Xã Xuân Hưng", "toàn xã") and no
    village of it means the whole commune; one naming a village *and* the
    commune means the village ("Thôn 3, xã Xuân Hưng"). An area naming only
    another commune ("Thôn 3, xã Xuân Thịnh") is not ours, whatever its
    village is called. Everything else — polygons and circles included, since
    villages carry no geometry — is listed in ``unmatched`` for an operator.
    """
    name = _tokens(commune_name)
    if name[:1] == ["xa"]:
        name = name[1:]
    ids = {village["id"] for village in villages}
    commune, zones, unmatched = False, [], []
    for area in areas:
        tokens = _expand_lists(_tokens(area["areaDesc"]))
        ours, others = _commune_mentions(tokens, name)
        found = []
        if ours or not others:
            found = [code["value"] for code in area.get("geocodes", ()) if code["value"] in ids]
            found += _village_matches(tokens, villages)
        if found:
            zones += [village_id for village_id in found if village_id not in zones]
        elif ours or (tokens == name and name):
            commune = True
        else:
            unmatched.append(area["areaDesc"])
    order = [village["id"] for village in villages]
    return {"commune": commune, "zones": sorted(zones, key=order.index), "unmatched": unmatched}


# ---------------------------------------------------------------- speech


def _sentences(text):
    """The lines of ``text``, single-spaced, each ending in punctuation so the
    speech engine pauses between them."""
    lines = []
    for line in (text or "").splitlines():
        line = " ".join(line.split())
        if line:
            lines.append(line if line[-1] in ".!?…:;" else line + ".")
    return lines


def speech_text(info, status="Actual"):
    """The Vietnamese text to speak for an info block: who speaks (the
    sender's name, unless the text already names it), the headline (unless
    the description repeats it), the description and the instruction; NFC,
    one sentence or paragraph a line. An Exercise begins by saying so."""
    headline, description, instruction = (_sentences(info.get(name)) for name in
                                          ("headline", "description", "instruction"))
    body = " ".join(description)
    if headline and fold(body).startswith(fold(" ".join(headline)).rstrip(".!?…")):
        headline = []
    lines = headline + description + instruction
    sender = " ".join((info.get("senderName") or "").split())
    if sender and fold(sender) not in fold(" ".join(lines)):
        lines.insert(0, f"{sender} thông báo:")
    if status == "Exercise":
        lines.insert(0, EXERCISE_PREFIX)
    return unicodedata.normalize("NFC", "\n".join(lines))


# ---------------------------------------------------------------- time and links


def expires_at(info, default_ttl):
    """When the broadcast of ``info`` stops being worth playing or retrying:
    its ``expires``, else ``default_ttl`` after it takes effect (aware UTC)."""
    if info.get("expires"):
        return parse_iso(info["expires"])
    return parse_iso(info["effective"]) + default_ttl


def _key(sender, identifier, sent):
    return f"{sender},{identifier},{sent}"


def key(alert):
    """The alert's own extended identifier, as references name it."""
    return _key(alert["sender"], alert["identifier"], alert["sent"])


def reference_keys(alert):
    """The keys of the alerts this one updates, cancels or answers."""
    return [_key(ref["sender"], ref["identifier"], ref["sent"]) for ref in alert["references"]]
