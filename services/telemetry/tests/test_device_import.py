"""Checking a CSV device list: no I/O."""
import pytest

from services.telemetry import device_import
from shared.errors import InvalidInput

HEADER = "device_id,name,kind,village,lat,lon,model,firmware,installed_on,transport,presence_timeout_s"


def check(text, existing=()):
    return device_import.check(text, set(existing))


def test_a_spreadsheet_export_with_a_bom_and_every_column_loads():
    text = ("\ufeff" + HEADER + "\r\n"
            "loa-01,Cụm loa thôn Đông,loudspeaker,Thôn Đông,21.05,105.80,TX-100,1.2.0,2026-03-01,grpc,120\r\n"
            "bang-01,Bảng tin UBND,eboard,,,,,,,mqtt,\r\n")
    rows, devices = check(text)
    assert rows == [{"line": 2, "device_id": "loa-01", "problems": []}, {"line": 3, "device_id": "bang-01", "problems": []}]
    assert devices[0]["village"] == "Thôn Đông" and devices[0]["lat"] == 21.05 and devices[0]["installed_on"] == "2026-03-01"
    assert devices[1] == {"device_id": "bang-01", "name": "Bảng tin UBND", "kind": "eboard", "village": None, "lat": None,
                          "lon": None, "model": "", "firmware": "", "installed_on": None, "transport": "mqtt",
                          "presence_timeout_s": 120}


def test_only_the_id_and_kind_columns_are_needed_in_any_order_and_a_semicolon_file_reads():
    rows, devices = check('kind;device_id;lat;lon\nloudspeaker;loa-01;"21,05";"105,8"\n')
    assert rows[0]["problems"] == [] and (devices[0]["lat"], devices[0]["lon"]) == (21.05, 105.8)


def test_every_row_is_reported_with_its_problems():
    text = (HEADER + "\n"
            "loa-01,,loudspeaker,,,,,,,,\n"
            "\n"
            "loa 02,,speaker,,21.0,,,,,,5\n"
            "loa-01,,eboard,,,,,,,,\n"
            "loa-03,,other,,,,,,,,,extra\n"
            "loa-04,,other,,,,,,,,\n")
    rows, devices = check(text, existing={"loa-04"})
    assert [r["line"] for r in rows] == [2, 4, 5, 6, 7]
    assert rows[0]["problems"] == []
    assert rows[1]["device_id"] == "loa 02" and set(rows[1]["problems"]) == {
        "device_id: mã thiết bị chỉ gồm chữ không dấu, số, '-' và '_' (tối đa 64 ký tự)",
        "kind: loại thiết bị phải là một trong: loudspeaker, eboard, other",
        "presence_timeout_s: thời gian chờ phải từ 30 đến 3600 giây"}
    assert rows[2]["problems"] == ["device_id: trùng với dòng 2"]
    assert rows[3]["problems"] == ["dòng có nhiều cột hơn tiêu đề"]
    assert rows[4]["problems"] == ["device_id: thiết bị đã có trong danh sách của xã"]
    assert [d["device_id"] for d in devices] == ["loa-01"]


def test_a_lone_coordinate_is_a_problem_of_its_row():
    rows, _ = check("device_id,kind,lat\nloa-01,loudspeaker,21.0\n")
    assert rows[0]["problems"] == ["lat: cần nhập cả vĩ độ và kinh độ, hoặc bỏ trống cả hai"]


@pytest.mark.parametrize("text, message", [
    ("", "Tệp CSV trống"),
    ("\ufeff  \n", "Tệp CSV trống"),
    ("device_id,name\nloa-01,Loa\n", "Tệp CSV thiếu cột: kind"),
    ("device_id,kind,colour\nloa-01,other,red\n", "Tệp CSV có cột không dùng được: colour"),
    ("device_id,kind,kind\nloa-01,other,other\n", "Tệp CSV có cột trùng tên"),
    ("device_id,kind\n", "Tệp CSV không có dòng thiết bị nào"),
])
def test_a_file_that_is_not_a_device_list_is_refused(text, message):
    with pytest.raises(InvalidInput, match=message):
        check(text)


def test_a_huge_file_is_refused():
    text = "device_id,kind\n" + "".join(f"loa-{n},other\n" for n in range(device_import.MAX_ROWS + 1))
    with pytest.raises(InvalidInput, match="quá 5000 dòng"):
        check(text)
