"""The periodic report of the plan's implementation (báo cáo kết quả thực
hiện kế hoạch): which tasks belong to a period, and the data the renderer
(``report.py``) lays out as DOCX and XLSX. No I/O."""
import calendar
from datetime import date

from shared.errors import InvalidInput

from services.tasks.domain import STATUS_LABELS_VI, follow_up_state, is_leaf, plan_progress, rolled_up_progress

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}

RECIPIENTS = ["Sở Văn hóa và Thể thao;", "TT Đảng ủy, HĐND xã;", "Lãnh đạo UBND xã;", "Lưu: VT, VHXH."]


def period_range(period):
    """(kind, start, end, label) of a requested period; InvalidInput if it makes no sense."""
    kind = period.get("kind")
    try:
        year = int(period.get("year") or 0)
        if kind == "quarter":
            number = int(period["number"])
            if number not in ROMAN:
                raise ValueError
            start = date(year, 3 * number - 2, 1)
            end = date(year, 3 * number, calendar.monthrange(year, 3 * number)[1])
            return kind, start, end, f"Quý {ROMAN[number]} năm {year}"
        if kind == "half_year":
            number = int(period["number"])
            if number not in (1, 2):
                raise ValueError
            start, end = (date(year, 1, 1), date(year, 6, 30)) if number == 1 else (date(year, 7, 1), date(year, 12, 31))
            return kind, start, end, f"6 tháng {'đầu' if number == 1 else 'cuối'} năm {year}"
        if kind == "year":
            return kind, date(year, 1, 1), date(year, 12, 31), f"Năm {year}"
        if kind == "adhoc":
            start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
            if end < start:
                raise ValueError
            return kind, start, end, f"Từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}"
    except (KeyError, TypeError, ValueError) as err:
        raise InvalidInput("Kỳ báo cáo không hợp lệ: chọn quý (1–4), 6 tháng (1–2), năm, hoặc từ ngày – đến ngày.") from err
    raise InvalidInput("Loại kỳ báo cáo phải là quarter, half_year, year hoặc adhoc.")


def periods_of(year):
    """The standard reporting periods of a plan year."""
    requests = [{"kind": "quarter", "year": year, "number": n} for n in (1, 2, 3, 4)]
    requests += [{"kind": "half_year", "year": year, "number": n} for n in (1, 2)]
    requests.append({"kind": "year", "year": year})
    out = []
    for request in requests:
        kind, start, end, label = period_range(request)
        out.append(dict(request, label=label, start=start.isoformat(), end=end.isoformat()))
    return out


def in_period(task, start, end):
    """A task belongs to a period when its schedule overlaps it; tasks without
    dates (conditional, blank, open-ended from before) belong to every period."""
    schedule = task.get("schedule") or {}
    task_start = date.fromisoformat(schedule["start"]) if schedule.get("start") else None
    task_due = date.fromisoformat(task["due"]) if task.get("due") else None
    if task_start and task_start > end:
        return False
    if task_due and task_due < start:
        return False
    return True


def build_report(plan, tasks, latest_updates, indicator_values, period, options, today):
    """The renderer's input (see report.py) for ``plan`` over ``period``."""
    kind, start, end, label = period_range(period)
    tasks = [t for t in tasks if not t.get("removed_from_plan")]
    progress = rolled_up_progress(tasks)
    leaves = [t for t in tasks if is_leaf(t, tasks) and in_period(t, start, end)]
    keep = {t["code"] for t in leaves}
    for task in leaves:  # with their groups and parts
        code = task["code"]
        while "." in code:
            code = code.rsplit(".", 1)[0]
            keep.add(code)
    selected = [t for t in tasks if t["code"] in keep]
    summary = plan_progress(plan, selected, today)
    done = summary["by_status"]["done"]
    commune = options.get("commune") or {}
    parts = []
    for task in sorted(selected, key=lambda t: t["order"]):
        row = {
            "code": task["code"], "level": task.get("level", task["code"].count(".")), "title": task["title"],
            "lead_agency": task["lead_agency"], "timeline": task["timeline"], "due": task.get("due"),
            "status": task["status"], "progress": progress.get(task["code"]) or 0,
            "result": latest_updates.get(task["_id"], ""),
            "overdue": follow_up_state(task, min(today, end)) == "overdue",
        }
        if row["level"] == 0:
            parts.append({"code": task["code"], "title": task["title"], "tasks": [row]})
        elif parts:
            parts[-1]["tasks"].append(row)
    name = commune.get("name", "")
    return {
        "issuing_body": {"parent": f"UBND TỈNH {commune['province'].upper()}" if commune.get("province") else "",
                         "name": f"ỦY BAN NHÂN DÂN XÃ {name.upper()}" if name else "ỦY BAN NHÂN DÂN XÃ"},
        "number": options.get("number") or "",
        "place": name,
        "date": today.isoformat(),
        "title": "BÁO CÁO",
        "subtitle": ("Kết quả thực hiện Kế hoạch công tác thông tin cơ sở và thông tin đối ngoại"
                     + (f" xã {name}" if name else "") + (f" năm {plan['year']}" if plan.get("year") else "")),
        "period": {"kind": kind, "label": label, "start": start.isoformat(), "end": end.isoformat()},
        "plan": {"title": plan["title"], "source_name": plan.get("source_name", "")},
        "summary": {"total": summary["leaves"], "by_status": summary["by_status"],
                    "percent_done": round(100 * done / summary["leaves"], 1) if summary["leaves"] else 0.0},
        "status_labels": dict(STATUS_LABELS_VI),
        "parts": parts,
        "indicators": indicator_values,
        "proposals": options.get("proposals") or "",
        "recipients": list(RECIPIENTS),
        "signer": {"on_behalf": "TM. ỦY BAN NHÂN DÂN", "deputy": "KT. CHỦ TỊCH", "title": "PHÓ CHỦ TỊCH",
                   "name": options.get("signer_name") or ""},
    }

