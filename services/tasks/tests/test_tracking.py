"""Task tracking on the real broker and store: re-import, progress roll-up,
guidance, progress reports with evidence, follow-up events, reports and their
indicators."""
import base64
import io
from datetime import timedelta

import gridfs
import openpyxl
import pytest
from docx import Document

from services.tasks.tests.conftest import SEED, as_caller, call
from shared.bus import Publisher
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events import make_event
from shared.testing import wait_until
from shared.timeutil import iso, local_today

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def b64(data):
    return base64.b64encode(data).decode("ascii")


def test_preview_lists_rows_and_problems_and_writes_nothing(container, mongo_database):
    preview = call(container, "preview_import", {"text": SEED.read_text(encoding="utf-8"), "source_name": SEED.name})
    assert len(preview["tasks"]) == 38 and preview["diff"] is None
    row = next(r for r in preview["tasks"] if r["code"] == "I.1.1")
    assert row["schedule"]["kind"] == "quarter" and row["schedule"]["due"] == "2026-12-31"
    assert [a["agency_id"] for a in row["lead_agencies"]] == ["vhxh"]
    # II.1.1 has no timeline in the document: flagged for the office
    assert any("II.1.1" in p and "chưa có thời gian" in p for p in preview["problems"])
    assert mongo_database.tasks.count_documents({}) == 0 and mongo_database.plans.count_documents({}) == 0


def test_reimport_updates_by_code_keeps_progress_and_reports_the_changes(container, plan, task_by_code):
    task = task_by_code("I.2.1")
    call(container, "change_status", {"task_id": task["_id"], "status": "done"})
    revised = (SEED.read_text(encoding="utf-8")
               .replace("Khảo sát, đánh giá thực trạng hệ thống truyền thanh", "Khảo sát, đánh giá lại hệ thống truyền thanh")
               .replace("| 5.3 | Đẩy mạnh truyền thông", "| 5.4 | Đẩy mạnh truyền thông"))
    result = call(container, "import_plan", {"text": revised, "source_name": "revised.txt", "plan_id": plan["_id"]})
    assert result["_id"] == plan["_id"]
    assert result["diff"]["added"] == ["II.5.4"] and result["diff"]["removed"] == ["II.5.3"]
    assert {c["code"] for c in result["diff"]["changed"]} == {"I.2.1"}
    after = task_by_code("I.2.1")
    assert after["_id"] == task["_id"] and after["status"] == "done" and "đánh giá lại" in after["title"]
    assert task_by_code("II.5.3")["removed_from_plan"] is True
    assert len(call(container, "list_plans")) == 1


def test_parents_roll_up_their_children(container, plan, task_by_code):
    call(container, "change_status", {"task_id": task_by_code("I.4.1")["_id"], "status": "done"})
    call(container, "change_status", {"task_id": task_by_code("I.4.2")["_id"], "status": "cancelled"})
    assert task_by_code("I.4")["progress"] == 100
    call(container, "change_status", {"task_id": task_by_code("I.5.1")["_id"], "status": "in_progress"})
    assert task_by_code("I.5")["progress"] == 25
    overview = call(container, "get_plan", plan["_id"])["progress"]
    assert overview["by_status"]["done"] == 1 and overview["by_status"]["cancelled"] == 1
    assert overview["by_part"]["I"]["done"] == 1


def test_guidance_gives_a_conditional_task_its_due_date(container, plan, task_by_code):
    task = task_by_code("I.1.2")
    assert task["status"] == "waiting_guidance" and task["schedule"]["due"] is None
    done = call(container, "record_guidance", {"task_id": task["_id"], "received_on": "2026-05-15"})
    assert done["status"] == "not_started" and done["schedule"]["due"] == "2026-08-15"
    detail = call(container, "get_task", task["_id"])
    assert detail["history"][0]["action"] == "guidance" and detail["history"][0]["by"] == "Nguyễn Thị Lan"
    with pytest.raises(InvalidInput):
        call(container, "record_guidance", {"task_id": task_by_code("I.1.1")["_id"], "received_on": "2026-05-15"})


def test_progress_report_with_evidence(container, plan, task_by_code, events):
    task = task_by_code("I.1.1")
    update = call(container, "add_update", {
        "task_id": task["_id"], "text": "Đã có dự thảo Quy chế, gửi lấy ý kiến các cơ quan.",
        "links": ["https://xuanhung.ninhbinh.gov.vn/du-thao-quy-che"],
        "files": [{"name": "du-thao.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)}]})
    stored = call(container, "get_evidence", task["_id"], update["files"][0]["file_id"])
    assert base64.b64decode(stored["content_b64"]) == PDF and stored["name"] == "du-thao.pdf"
    detail = call(container, "get_task", task["_id"])
    assert detail["updates"][0]["links"] == ["https://xuanhung.ninhbinh.gov.vn/du-thao-quy-che"]
    wait_until(lambda: [e for e in events() if e.name == "task_progress_reported" and e.body["update_id"] == update["_id"]],
               message="task_progress_reported")


@pytest.mark.parametrize("files, links", [
    ([{"name": "anh.png", "content_type": "image/png", "content_b64": b64(PDF)}], []),  # mislabelled
    ([{"name": "x.exe", "content_type": "application/x-msdownload", "content_b64": b64(b"MZ")}], []),
    ([{"name": "big.pdf", "content_type": "application/pdf", "content_b64": b64(b"%PDF" + b"0" * (10 * 1024 * 1024))}], []),
    ([], ["javascript:alert(1)"]),
])
def test_bad_evidence_is_refused_and_leaves_nothing(container, plan, task_by_code, mongo_database, files, links):
    task = task_by_code("I.1.1")
    with pytest.raises(InvalidInput):
        call(container, "add_update", {"task_id": task["_id"], "text": "x", "files": files, "links": links})
    assert mongo_database.updates.count_documents({}) == 0
    assert list(gridfs.GridFSBucket(mongo_database, bucket_name="evidence").find({})) == []


def test_a_progress_report_on_another_communes_task_changes_nothing(container, plan, task_by_code, mongo_database):
    task = task_by_code("I.1.1")
    with pytest.raises(NotFound):
        call(container, "add_update", {"task_id": task["_id"], "text": "x"}, context=as_caller("yen-thang"))
    with pytest.raises(Forbidden):
        call(container, "add_update", {"task_id": task["_id"], "text": "x", "commune_id": "xuan-hung"},
             context=as_caller("yen-thang"))
    assert mongo_database.updates.count_documents({}) == 0


def test_comments_and_assignees(container, plan, task_by_code):
    task = task_by_code("I.5.2")
    call(container, "add_comment", {"task_id": task["_id"], "text": "Đề nghị VP lập nhóm Zalo trước 30/6."},
         context=as_caller("xuan-hung", "viewer"))
    assigned = call(container, "assign", {"task_id": task["_id"], "assignees": [{"user_id": "u7", "name": "Trần Văn Nam"}]})
    assert assigned["assignees"] == [{"user_id": "u7", "name": "Trần Văn Nam"}]
    detail = call(container, "get_task", task["_id"])
    assert detail["comments"][0]["text"].startswith("Đề nghị") and detail["history"][0]["action"] == "assign"
    with pytest.raises(Forbidden):
        call(container, "assign", {"task_id": task["_id"], "assignees": []}, context=as_caller("xuan-hung", "editor"))


def test_removed_tasks_cannot_be_updated(container, plan, task_by_code):
    revised = SEED.read_text(encoding="utf-8").replace("| 5.3 | Đẩy mạnh truyền thông", "| 5.4 | Đẩy mạnh truyền thông")
    call(container, "import_plan", {"text": revised, "plan_id": plan["_id"]})
    with pytest.raises(Conflict):
        call(container, "change_status", {"task_id": task_by_code("II.5.3")["_id"], "status": "done"})


def test_follow_up_announces_overdue_and_due_soon_once(container, plan, task_by_code, mongo_database, events):
    today = local_today()
    late, soon = task_by_code("I.2.1"), task_by_code("I.5.2")
    mongo_database.tasks.update_one({"_id": late["_id"]}, {"$set": {"due": (today - timedelta(days=1)).isoformat()}})
    mongo_database.tasks.update_one({"_id": soon["_id"]}, {"$set": {"due": (today + timedelta(days=3)).isoformat()}})
    call(container, "follow_up")
    call(container, "follow_up")
    wait_until(lambda: len([e for e in events() if e.name in ("task_overdue", "task_due_soon")]) >= 2, message="both")
    got = sorted((e.name, e.body["code"]) for e in events() if e.name in ("task_overdue", "task_due_soon"))
    assert got == [("task_due_soon", "I.5.2"), ("task_overdue", "I.2.1")]
    assert [t["code"] for t in call(container, "list_tasks", {"due": "overdue"})["items"]] == ["I.2.1"]
    view = call(container, "agency_view", "vp")
    assert [t["code"] for t in view["due_soon"]] == ["I.5.2"] and view["overdue"] == []


def test_report_docx_and_xlsx_hold_every_task_of_the_period(container, plan, task_by_code):
    call(container, "change_status", {"task_id": task_by_code("I.1.1")["_id"], "status": "in_progress"})
    request = {"plan_id": plan["_id"], "period": {"kind": "quarter", "year": 2026, "number": 4},
               "commune": {"name": "Xuân Hưng", "province": "Ninh Bình"}, "signer_name": "Đỗ Văn Minh"}
    docx = call(container, "generate_report", dict(request, format="docx"))
    assert docx["filename"].endswith(".docx")
    text = "\n".join(cell.text for table in Document(io.BytesIO(base64.b64decode(docx["content_b64"]))).tables
                     for row in table.rows for cell in row.cells)
    assert "I.1.1" in text and "Đang thực hiện" in text
    xlsx = call(container, "generate_report", dict(request, format="xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(xlsx["content_b64"]))).worksheets[0]
    codes = [row[0] for row in sheet.iter_rows(values_only=True) if row and isinstance(row[0], str) and row[0][:1] in "I"]
    # II.5.3 ("Các năm tiếp theo") starts in 2027: not a task of this period
    assert "I.1.1" in codes and "II.5.3" not in codes
    assert codes == [t["code"] for t in call(container, "list_tasks", {"plan_id": plan["_id"], "limit": 500})["items"]
                     if t["code"] != "II.5.3"]


def test_an_indicator_changes_in_the_next_report_and_a_redelivery_is_not_counted_twice(container, plan, service_config):
    def reported_share():
        """The devices-online row of the next report's indicator sheet: (value, note)."""
        xlsx = call(container, "generate_report", {"plan_id": plan["_id"], "format": "xlsx",
                                                   "period": {"kind": "year", "year": 2026}})
        sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(xlsx["content_b64"])))["Chỉ số"]
        row = next(r for r in sheet.iter_rows(values_only=True) if r and r[0] == "devices_online_share")
        return row[2], row[4]

    assert reported_share() == (None, "chưa có dữ liệu")  # nobody reported yet: not 0
    publisher = Publisher(service_config["AMQP_URI"])
    online = make_event("telemetry", "device_status_reported", "xuan-hung", device_id="loa-thon-1", online=True,
                        reported_at=iso())
    publisher.publish_event("telemetry", "device_status_reported", online)
    wait_until(lambda: reported_share()[0] == 1.0, message="the indicator to change")
    offline = make_event("telemetry", "device_status_reported", "xuan-hung", device_id="loa-thon-2", online=False,
                         reported_at=iso())
    publisher.publish_event("telemetry", "device_status_reported", online)  # redelivered
    publisher.publish_event("telemetry", "device_status_reported", offline)
    wait_until(lambda: reported_share()[0] == 0.5, message="the second device")
    publisher.close()
    assert reported_share()[0] == 0.5
    assert next(v for v in call(container, "get_indicators", {}) if v["key"] == "devices_online_share")["value"] == 0.5


@pytest.mark.parametrize("period", [
    {"kind": "quarter", "year": 2026, "number": 5},
    {"kind": "adhoc", "start": "2026-12-01", "end": "2026-01-01"},
    {"kind": "weekly"},
])
def test_bad_report_periods_are_refused(container, plan, period):
    with pytest.raises(InvalidInput):
        call(container, "generate_report", {"plan_id": plan["_id"], "period": period})


def test_report_periods_of_the_plan_year(container, plan):
    periods = call(container, "report_periods", plan["_id"])
    assert [p["label"] for p in periods][:4] == ["Quý I năm 2026", "Quý II năm 2026", "Quý III năm 2026", "Quý IV năm 2026"]
    assert periods[-1] == {"kind": "year", "year": 2026, "label": "Năm 2026", "start": "2026-01-01", "end": "2026-12-31"}


def test_bad_plan_documents_are_refused_and_change_nothing(container, mongo_database):
    without_table = Document()
    without_table.add_paragraph("Kế hoạch không có phụ lục.")
    buffer = io.BytesIO()
    without_table.save(buffer)
    for request in ({"docx_b64": b64(b"not a zip at all")}, {"docx_b64": b64(buffer.getvalue())},
                    {"text": "Không có phụ lục nào."}, {"text": "x", "docx_b64": b64(PDF)}):
        with pytest.raises(InvalidInput):
            call(container, "import_plan", request)
    assert mongo_database.tasks.count_documents({}) == 0 and mongo_database.plans.count_documents({}) == 0


def test_the_docx_rendering_imports_to_the_same_tasks_as_the_text(container, plan):
    from services.tasks.tests.plan_docx import render_seed_docx

    from_docx = call(container, "import_plan", {"docx_b64": b64(render_seed_docx(SEED.read_text(encoding="utf-8"))),
                                                "source_name": "ke-hoach.docx"})
    fields = ("code", "parent_code", "title", "details", "lead_agency", "coordinating_agencies", "timeline", "schedule",
              "status")

    def tasks_of(plan_id):
        items = call(container, "list_tasks", {"plan_id": plan_id, "limit": 500})["items"]
        return [{f: t[f] for f in fields} for t in items]

    assert from_docx["task_count"] == plan["task_count"] == 38
    assert tasks_of(from_docx["_id"]) == tasks_of(plan["_id"])


def test_publications_are_counted_per_channel_once_per_event(container, plan, service_config):
    def counts():
        xlsx = call(container, "generate_report", {"plan_id": plan["_id"], "format": "xlsx",
                                                   "period": {"kind": "year", "year": int(local_today().year)}})
        sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(xlsx["content_b64"])))["Chỉ số"]
        rows = {r[0]: r[2] for r in sheet.iter_rows(values_only=True) if r and str(r[0]).startswith("items_published")}
        return rows["items_published_website"], rows["items_published_radio"], rows["items_published_eboard"]

    assert counts() == (0, 0, 0)  # the content service exists: nothing published yet is a real zero

    def published(channels, item_id):
        return make_event("content", "item_published", "xuan-hung", item_id=item_id, revision=1, kind="news",
                          title="Tin", section_id="s1", section_name="Chuyển đổi số", slug="tin", channels=channels,
                          has_audio="radio" in channels, published_at=iso(), first_publication=True)

    news, bulletin = published(["website", "social"], "i1"), published(["radio"], "i2")
    publisher = Publisher(service_config["AMQP_URI"])
    for event in (news, news, bulletin, news):  # the news event redelivered twice
        publisher.publish_event("content", "item_published", event)
    publisher.close()
    wait_until(lambda: counts() == (1, 1, 0), message="one website and one radio publication")


def test_uptime_days_from_telemetry_feed_the_uptime_indicator_weighted_by_devices(container, service_config):
    def uptime(start, end):
        return next(v for v in call(container, "get_indicators", {"start": start, "end": end})
                    if v["key"] == "devices_uptime")["value"]

    assert uptime("2026-11-01", "2026-11-30") is None  # nothing reported: no data, not 0
    publisher = Publisher(service_config["AMQP_URI"])
    for date, share, devices in (("2026-11-10", 1.0, 3), ("2026-11-11", 0.5, 1), ("2026-12-01", 0.0, 4)):
        publisher.publish_event("telemetry", "uptime_reported", make_event(
            "telemetry", "uptime_reported", "xuan-hung", date=date, start=f"{date}T00:00:00.000Z",
            end=f"{date}T23:59:59.999Z", devices=devices, uptime=share, villages={"Thôn 1": share}))
    wait_until(lambda: uptime("2026-11-01", "2026-11-30") == (3 * 1.0 + 1 * 0.5) / 4, message="the uptime indicator")
    publisher.close()
    assert uptime("2026-11-11", "2026-11-11") == 0.5


def test_broadcast_hours_from_the_broadcast_service_feed_the_broadcast_indicators(container, service_config):
    def indicator(key, start, end):
        return next(v for v in call(container, "get_indicators", {"start": start, "end": end})
                    if v["key"] == key)["value"]

    assert indicator("broadcast_hours", "2026-11-01", "2026-11-30") is None  # nothing reported: no data, not 0
    publisher = Publisher(service_config["AMQP_URI"])
    # 11-10 reported twice: a late play changed it, and the later report wins even when it is
    # handled first (handlers run concurrently; a retried one comes late)
    for date, hours, plays, made in (("2026-11-10", 2.0, 7, "2026-11-11T01:00:00.000Z"),
                                     ("2026-11-10", 1.5, 6, "2026-11-10T17:00:00.000Z"),
                                     ("2026-11-11", 0.25, 1, "2026-11-11T17:00:00.000Z"),
                                     ("2026-12-01", 9.0, 9, "2026-12-01T17:00:00.000Z")):
        publisher.publish_event("broadcast", "hours_reported", dict(make_event(
            "broadcast", "hours_reported", "xuan-hung", date=date, hours=hours, villages={"thon-1": hours},
            device_count=1, plays=plays), occurred_at=made))
    wait_until(lambda: indicator("broadcast_hours", "2026-11-01", "2026-11-30") == 2.25, message="the hours indicator")
    publisher.close()
    assert indicator("broadcasts", "2026-11-01", "2026-11-30") == 8


def test_roster_counts_and_completions_from_the_training_service_feed_the_training_indicators(container, service_config):
    def indicators(start, end):
        return {v["key"]: v["value"] for v in call(container, "get_indicators", {"start": start, "end": end})}

    # the training service has never counted this commune's roster: no data, not 0
    assert indicators("2026-01-01", "2026-12-31")["people_trained"] is None
    publisher = Publisher(service_config["AMQP_URI"])

    def roster(counted_at, in_place, short):
        villages = [{"village": "thon-1", "name": "Thôn 1", "target": 2, "in_place": in_place, "on_leave": 0,
                     "vacancies": 2 - in_place}]
        return make_event("training", "roster_counted", "xuan-hung", villages=villages, target=2, in_place=in_place,
                          on_leave=0, vacancies=2 - in_place, villages_short=short, counted_at=counted_at)

    march, june = roster("2026-03-10T02:00:00.000Z", 1, 1), roster("2026-06-10T02:00:00.000Z", 2, 0)
    completions = [make_event("training", "completions_recorded", "xuan-hung", course_id=course, course_title=course,
                              topics=topics, source="course", completed_on=day,
                              people=[{"person_id": f"p{n}", "village": "thon-1"} for n in range(people)])
                   for course, topics, day, people in (
                       ("c1", ["radio_operation"], "2026-03-20", 3),
                       ("c2", ["radio_operation", "oral_propaganda"], "2026-04-02", 2),
                       ("c3", ["foreign_information"], "2026-07-01", 4))]
    for event in (march, june, march):  # a redelivery counts once
        publisher.publish_event("training", "roster_counted", event)
    for event in completions + completions[:1]:
        publisher.publish_event("training", "completions_recorded", event)
    wait_until(lambda: indicators("2026-01-01", "2026-12-31")["people_trained"] == 9, message="people trained")
    publisher.close()
    first_half = indicators("2026-01-01", "2026-06-30")
    assert first_half["people_trained"] == 5
    assert first_half["people_trained_radio_operation"] == 5 and first_half["people_trained_oral_propaganda"] == 2
    assert first_half["people_trained_foreign_information"] == 0
    # the roster as counted by each period's end
    assert (first_half["communicators_in_place"], first_half["communicators_vacant"]) == (2, 0)
    spring = indicators("2026-03-01", "2026-03-31")
    assert (spring["communicators_in_place"], spring["communicators_target"], spring["communicators_vacant"]) == (1, 2, 1)
    assert indicators("2026-01-01", "2026-02-28")["communicators_in_place"] is None  # not counted yet by then


def test_a_days_older_broadcast_report_never_replaces_a_newer_one(mongo_database):
    from services.tasks.repository import BroadcastDayRepository

    days = BroadcastDayRepository(mongo_database)
    # a day kept before reports carried their time is replaced by any report
    mongo_database.broadcast_days.insert_one({"_id": "xuan-hung/2026-11-10", "commune_id": "xuan-hung",
                                              "date": "2026-11-10", "hours": 0.5, "plays": 2})
    days.record("xuan-hung", "2026-11-10", 1.5, 6, "2026-11-10T17:00:00.000Z")
    days.record("xuan-hung", "2026-11-10", 2.0, 7, "2026-11-11T01:00:00.000Z")
    days.record("xuan-hung", "2026-11-10", 1.5, 6, "2026-11-10T17:00:00.000Z")  # the older one, redelivered late
    days.record("xuan-hung", "2026-11-10", 1.0, 4, "2026-11-10T12:00:00.000Z")  # an even older one
    [day] = days.between("xuan-hung", "2026-11-01", "2026-11-30")
    assert (day["hours"], day["plays"]) == (2.0, 7)
