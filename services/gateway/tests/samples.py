"""What the tasks service answers, shaped as its contract says
(services/tasks/API.md), for tests where a stand-in replaces it.
Each function returns a fresh copy, so a test may change what it gets."""
import copy

VHXH = "Phòng Văn hoá – Xã hội"


def ref(text, agency_id=None, agency_name=None, generic=False):
    return {"text": text, "agency_id": agency_id, "agency_name": agency_name, "generic": generic}


def schedule(original, kind, start=None, due=None, condition=None, flagged=False):
    return {"original": original, "kind": kind, "start": start, "due": due, "condition": condition,
            "flagged": flagged}


def task(**changes):
    """I.1.1 of the seed plan, in progress."""
    base = {
        "_id": "t1", "plan_id": "p1", "commune_id": "xuan-hung", "code": "I.1.1", "parent_code": "I.1", "part": "I",
        "order": 3, "level": 2, "title": "Xây dựng Quy chế quản lý, vận hành Hệ thống thông tin nguồn",
        "details": "", "lead_agency": VHXH, "coordinating_agencies": "Các cơ quan, đơn vị có liên quan",
        "lead_agencies": [ref(VHXH, "vhxh", "Phòng Văn hóa – Xã hội")],
        "coordinating": [ref("Các cơ quan, đơn vị có liên quan", generic=True)],
        "timeline": "Quý IV/2026", "schedule": schedule("Quý IV/2026", "quarter", "2026-10-01", "2026-12-31"),
        "status": "in_progress", "progress": 50, "assignees": [], "overdue": False, "due_soon": False,
        "removed_from_plan": False, "status_changed_at": "2026-11-20T02:00:00.000Z", "status_changed_by": "Chị Lan",
    }
    return copy.deepcopy({**base, **changes})


def heading(code, title, status="not_started", **changes):
    """A heading row ("I", "I.1"): no agency, no timeline of its own."""
    return task(_id=f"h-{code}", code=code, parent_code=code.rsplit(".", 1)[0] if "." in code else None,
                part=code.split(".")[0], level=code.count("."), title=title, lead_agency="",
                coordinating_agencies="", lead_agencies=[], coordinating=[], timeline="",
                schedule=schedule("", "blank", flagged=True), status=status, progress=0, **changes)


def task_list():
    """The first rows of the seed plan, in document order."""
    return [
        heading("I", "NHIỆM VỤ THÔNG TIN CƠ SỞ"),
        heading("I.1", "Triển khai thực hiện các chính sách, pháp luật về thông tin cơ sở"),
        task(),
        task(_id="t2", code="I.1.2", order=4, title="Xây dựng Kế hoạch hành động năm 2026", status="not_started",
             progress=0, timeline="Năm 2026", schedule=schedule("Năm 2026", "year", "2026-01-01", "2026-12-31"),
             overdue=True),
        task(_id="t3", code="II.1.1", parent_code="II.1", part="II", order=30,
             title="Ban hành Quy chế quản lý nhà nước về thông tin đối ngoại", status="not_started", progress=0,
             timeline="", schedule=schedule("", "blank", flagged=True)),
    ]


def task_page(items=None, total=None):
    items = task_list() if items is None else items
    return {"items": items, "total": len(items) if total is None else total, "offset": 0, "limit": 50}


def detail(**changes):
    """I.1.1 as ``get_task`` returns it: with history, updates, comments, children."""
    return task(**{
        "history": [
            {"id": "h2", "at": "2026-11-20T02:00:00.000Z", "by": "Chị Lan", "action": "status",
             "changes": {"status": ["not_started", "in_progress"]}, "note": "Đã họp triển khai"},
        ],
        "updates": [
            {"_id": "u1", "task_id": "t1", "text": "Đã dự thảo Quy chế, gửi các phòng góp ý.",
             "links": ["https://xuanhung.ninhbinh.gov.vn/du-thao-quy-che"],
             "files": [{"file_id": "f1", "name": "Dự thảo quy chế.pdf", "content_type": "application/pdf",
                        "size": 20480}],
             "by": "Chị Lan", "at": "2026-11-21T03:00:00.000Z"},
        ],
        "comments": [{"_id": "c1", "task_id": "t1", "text": "Nhớ lấy ý kiến Công an xã.", "by": "Anh Hùng",
                      "at": "2026-11-22T04:00:00.000Z"}],
        "children": [],
        **changes,
    })


def conditional_detail():
    """II.5.3: to be done after the provincial Department's guidance."""
    condition = "hướng dẫn của Sở Văn hóa, Thể thao và Du lịch"
    phrase = "Sau khi có hướng dẫn của Sở Văn hóa, Thể thao và Du lịch"
    return detail(_id="t9", code="II.5.3", parent_code="II.5", part="II", status="waiting_guidance", progress=0,
                  timeline=phrase, schedule=schedule(phrase, "conditional", condition=condition),
                  history=[], updates=[], comments=[])


def plan(**changes):
    base = {
        "_id": "p1", "commune_id": "xuan-hung", "title": "NHIỆM VỤ THỰC HIỆN CÔNG TÁC THÔNG TIN CƠ SỞ VÀ THÔNG TIN ĐỐI NGOẠI",
        "source_name": "ke-hoach-2026.txt", "year": 2026, "imported_at": "2026-05-04T03:02:01.000Z",
        "imported_by": "u1", "task_count": 38,
        "problems": ["Nhiệm vụ II.1.1: chưa có thời gian thực hiện («»); Phòng Văn hóa – Xã hội cần bổ sung."],
        "progress": {
            "percent": 37.6, "by_status": {"not_started": 20, "in_progress": 3, "waiting_guidance": 2, "done": 1,
                                           "cancelled": 0},
            "by_part": {"I": {"title": "NHIỆM VỤ THÔNG TIN CƠ SỞ", "total": 12, "done": 1, "percent": 20},
                        "II": {"title": "NHIỆM VỤ THÔNG TIN ĐỐI NGOẠI", "total": 14, "done": 0, "percent": 5}},
            "overdue": 3, "due_soon": 2,
        },
    }
    return copy.deepcopy({**base, **changes})


def preview(diff=None):
    rows = [
        {"code": "I", "parent_code": None, "title": "NHIỆM VỤ THÔNG TIN CƠ SỞ", "details": "", "lead_agency": "",
         "coordinating_agencies": "", "timeline": "", "schedule": schedule("", "blank", flagged=True),
         "lead_agencies": [], "coordinating": []},
        {"code": "I.1", "parent_code": "I", "title": "Triển khai thực hiện các chính sách", "details": "",
         "lead_agency": "", "coordinating_agencies": "", "timeline": "", "schedule": schedule("", "blank", flagged=True),
         "lead_agencies": [], "coordinating": []},
        {"code": "I.1.1", "parent_code": "I.1", "title": "Xây dựng Quy chế", "details": "", "lead_agency": VHXH,
         "coordinating_agencies": "Ban Quản lý chợ", "timeline": "Quý IV/2026",
         "schedule": schedule("Quý IV/2026", "quarter", "2026-10-01", "2026-12-31"),
         "lead_agencies": [ref(VHXH, "vhxh", "Phòng Văn hóa – Xã hội")], "coordinating": [ref("Ban Quản lý chợ")]},
        {"code": "I.1.2", "parent_code": "I.1", "title": "Rà soát tuyên truyền viên", "details": "", "lead_agency": VHXH,
         "coordinating_agencies": "", "timeline": "", "schedule": schedule("", "blank", flagged=True),
         "lead_agencies": [ref(VHXH, "vhxh", "Phòng Văn hóa – Xã hội")], "coordinating": []},
    ]
    return copy.deepcopy({
        "title": "NHIỆM VỤ THỰC HIỆN CÔNG TÁC THÔNG TIN CƠ SỞ", "source_name": "ke-hoach.docx", "tasks": rows,
        "problems": ["Nhiệm vụ I.1.1: không tìm thấy cơ quan «Ban Quản lý chợ» trong danh sách cơ quan của xã.",
                     "Nhiệm vụ I.1.2: chưa có thời gian thực hiện («»); Phòng Văn hóa – Xã hội cần bổ sung."],
        "diff": diff,
    })


def periods(year=2026):
    out = [{"kind": "quarter", "year": year, "number": n, "label": f"Quý {r} năm {year}",
            "start": f"{year}-{3 * n - 2:02d}-01", "end": f"{year}-{3 * n:02d}-{[31, 30, 30, 31][n - 1]}"}
           for n, r in ((1, "I"), (2, "II"), (3, "III"), (4, "IV"))]
    out += [{"kind": "half_year", "year": year, "number": 1, "label": f"6 tháng đầu năm {year}",
             "start": f"{year}-01-01", "end": f"{year}-06-30"},
            {"kind": "half_year", "year": year, "number": 2, "label": f"6 tháng cuối năm {year}",
             "start": f"{year}-07-01", "end": f"{year}-12-31"},
            {"kind": "year", "year": year, "label": f"Năm {year}", "start": f"{year}-01-01", "end": f"{year}-12-31"}]
    return out


def agency_view(agency_id="vhxh"):
    items = [task(), task(_id="t2", code="I.1.2", title="Xây dựng Kế hoạch hành động năm 2026", status="not_started",
                          progress=0, overdue=True, schedule=schedule("Năm 2026", "year", "2026-01-01", "2026-11-20"))]
    return {"agency_id": agency_id, "tasks": items, "overdue": [items[1]], "due_soon": [],
            "counts": {"not_started": 1, "in_progress": 1, "waiting_guidance": 0, "done": 0, "cancelled": 0}}
