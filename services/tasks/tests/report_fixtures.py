"""A realistic report dict for the report renderer: the 38 rows of the Xuân
Hưng 2026 plan (parsed from the seed document), with statuses, progress and
results assigned deterministically, as the caller would gather them for the
fourth quarter of 2026."""

from collections import Counter
from pathlib import Path

from services.tasks.plan_import import parse_plan_text

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed" / "ke-hoach-ttcs-ttdn-2026-xuan-hung.txt"

# as the tasks service labels its statuses; the renderer only knows what the dict says
STATUS_LABELS = {
    "not_started": "Chưa thực hiện",
    "in_progress": "Đang thực hiện",
    "waiting_guidance": "Chờ hướng dẫn",
    "done": "Hoàn thành",
    "cancelled": "Hủy bỏ",
}
# leaf tasks take these statuses in turn; rows waiting for the Department's
# guidance (their timeline says so) are "waiting_guidance" whatever the turn
_STATUS_TURN = ("done", "in_progress", "not_started", "in_progress", "done", "cancelled", "not_started")
_RESULTS = {
    "done": "Đã hoàn thành trong kỳ; hồ sơ lưu tại Phòng Văn hóa – Xã hội.",
    "in_progress": "Đang triển khai; đã thực hiện một phần khối lượng công việc.",
}
OVERDUE_CODE = "I.2.1"

INDICATORS = [
    {"key": key, "label": label, "value": value, "unit": unit}
    for key, label, value, unit in (
        ("items_published_website", "Số tin, bài đăng trên Trang TTĐT xã", 46, "count"),
        ("items_published_zalo", "Số tin, bài đăng trên trang Zalo của xã", None, "count"),
        ("broadcasts", "Số lượt phát thanh trên đài truyền thanh xã", 1284, "count"),
        ("broadcast_hours", "Số giờ phát thanh", 212.5, "hours"),
        ("devices_online_share", "Tỷ lệ thiết bị truyền thanh hoạt động", 0.83, "percent"),
        ("communicators_in_place", "Số tuyên truyền viên cơ sở đang hoạt động", None, "count"),
        ("communicators_vacant", "Số thôn còn thiếu tuyên truyền viên cơ sở", None, "count"),
        ("people_trained", "Số người được tập huấn, bồi dưỡng nghiệp vụ", 0, "count"),  # a real zero
    )
]


def _progress(status, overdue):
    return {"done": 100, "in_progress": 40 if overdue else 60}.get(status, 0)


def _task_rows():
    parsed = parse_plan_text(SEED.read_text(encoding="utf-8"))
    parents = {task.parent_code for task in parsed.tasks}
    rows, turn = [], 0
    for task in parsed.tasks:
        level = task.code.count(".")
        if task.code in parents:
            status = "in_progress"
        elif "hướng dẫn" in task.timeline:
            status = "waiting_guidance"
        else:
            status = _STATUS_TURN[turn % len(_STATUS_TURN)]
            turn += 1
        overdue = task.code == OVERDUE_CODE
        if overdue:  # late and still under way
            status = "in_progress"
        rows.append(
            {
                "code": task.code,
                "level": level,
                "title": task.title,
                "lead_agency": task.lead_agency,
                "timeline": task.timeline,
                "due": "2026-11-15" if overdue else ("2026-12-31" if "2026" in task.timeline else None),
                "status": status,
                "progress": None if task.code in parents else _progress(status, overdue),
                "result": "" if task.code in parents else _RESULTS.get(status, ""),
                "overdue": overdue,
                "leaf": task.code not in parents,
            }
        )
    return rows


def seed_report(**changes):
    """The report dict of the fourth quarter of 2026; keyword arguments
    replace top-level keys."""
    rows = _task_rows()
    # as the caller counts: the summary is over tasks proper (leaves), not
    # over the part and group rows that only frame them
    leaves = [row for row in rows if row.pop("leaf")]
    by_status = Counter(row["status"] for row in leaves)
    report = {
        "issuing_body": {"parent": "UBND TỈNH NINH BÌNH", "name": "ỦY BAN NHÂN DÂN XÃ XUÂN HƯNG"},
        "number": "",
        "place": "Xuân Hưng",
        "date": "2026-11-26",
        "title": "BÁO CÁO",
        "subtitle": "Kết quả thực hiện Kế hoạch công tác thông tin cơ sở và thông tin đối ngoại "
        "xã Xuân Hưng năm 2026",
        "period": {"kind": "quarter", "label": "Quý IV năm 2026", "start": "2026-10-01", "end": "2026-12-31"},
        "plan": {
            "title": "Kế hoạch công tác thông tin cơ sở và thông tin đối ngoại xã Xuân Hưng năm 2026",
            "source_name": SEED.name,
        },
        "summary": {
            "total": len(leaves),
            "by_status": {status: by_status.get(status, 0) for status in STATUS_LABELS},
            "percent_done": round(100 * sum(r["status"] == "done" for r in leaves) / len(leaves), 1),
        },
        "status_labels": dict(STATUS_LABELS),
        "parts": [
            {"code": part["code"], "title": part["title"],
             "tasks": [r for r in rows if r["code"].split(".")[0] == part["code"]]}
            for part in rows
            if part["level"] == 0
        ],
        "indicators": [dict(indicator) for indicator in INDICATORS],
        "proposals": "Đề nghị Sở Văn hóa và Thể thao sớm ban hành hướng dẫn triển khai Chiến lược phát triển "
        "lĩnh vực thông tin cơ sở giai đoạn 2026 - 2030.\n"
        "Đề nghị UBND tỉnh hỗ trợ kinh phí thay thế các cụm loa hư hỏng tại thôn Đông và thôn Bắc.",
        "recipients": [
            "Sở Văn hóa và Thể thao;",
            "TT Đảng ủy, HĐND xã;",
            "Lãnh đạo UBND xã;",
            "Lưu: VT, VHXH.",
        ],
        "signer": {
            "on_behalf": "TM. ỦY BAN NHÂN DÂN",
            "deputy": "KT. CHỦ TỊCH",
            "title": "PHÓ CHỦ TỊCH",
            "name": "Đỗ Văn Minh",
        },
    }
    report.update(changes)
    return report
