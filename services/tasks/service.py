"""The tasks service (nhiệm vụ): the commune's plans imported from their
documents, their tasks tracked to done, and the official report.

The RPC contract is in ``API.md`` beside this file.
"""
import base64
import logging
import uuid
from datetime import timedelta

from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from services.tasks import domain, indicators, reporting
from services.tasks.docx_import import parse_plan_docx
from services.tasks.plan_import import PlanFormatError, parse_plan_text
from services.tasks.plan_revision import diff_tasks
from services.tasks.report import render_docx, render_xlsx
from services.tasks.repository import (CommentRepository, CompletionRepository, DeviceStateRepository,
                                       DirectiveRepository, PlanRepository, PublicationRepository,
                                       RosterCountRepository, TaskRepository, UpdateRepository, UptimeRepository,
                                       BroadcastDayRepository)
from services.tasks.schemas import (AssignSchema, ChangeStatusSchema, CommentSchema, DirectiveSchema, GuidanceSchema,
                                    ImportPlanSchema, IndicatorsSchema, ReportSchema, TaskFilterSchema, UpdateSchema)
from shared.context import READ_ROLES, CallerContext
from shared.errors import CALLER_ERRORS, InvalidInput, load
from shared.handlers import event_handler
from shared.mongo import Store
from shared.observability import Observability
from shared.timeutil import local_today

log = logging.getLogger(__name__)

EDIT_ROLES = ("commune_admin", "editor", "approver")
IMPORT_ROLES = ("commune_admin", "editor")
REPORT_ROLES = EDIT_ROLES + ("operator",)
# the sync agent hands directives over as the system caller (a district administrator)
DIRECTIVE_ROLES = ("commune_admin",)

FORMATS = {
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", render_docx),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", render_xlsx),
}


def _new_id():
    return uuid.uuid4().hex


def _actor(caller):
    return domain.Actor(caller.subject, caller.name or caller.subject)


class TasksService:
    name = "tasks"

    caller = CallerContext()
    gateway = RpcProxy("gateway")
    plans = Store(PlanRepository)
    tasks = Store(TaskRepository)
    updates = Store(UpdateRepository)
    comments = Store(CommentRepository)
    devices = Store(DeviceStateRepository)
    publications = Store(PublicationRepository)
    uptime = Store(UptimeRepository)
    broadcast_days = Store(BroadcastDayRepository)
    roster_counts = Store(RosterCountRepository)
    completions = Store(CompletionRepository)
    directives = Store(DirectiveRepository)
    observability = Observability()

    # ------------------------------------------------------------ plans

    def _parse(self, data):
        try:
            if data["docx_b64"] is not None:
                return parse_plan_docx(data["docx_b64"])
            return parse_plan_text(data["text"])
        except PlanFormatError as err:
            raise InvalidInput(str(err)) from err

    def _preview(self, caller, request):
        data = load(ImportPlanSchema, request)
        commune_id = caller.commune_for(data["commune_id"])
        parsed = self._parse(data)
        plan = self.plans.get(commune_id, data["plan_id"]) if data["plan_id"] else None
        year = plan["year"] if plan else domain.plan_year(parsed.title, local_today())
        registry = self.gateway.list_agencies(commune_id)
        rows, problems = domain.describe_rows(parsed, registry, year)
        diff = diff_tasks(self.tasks.of_plan(commune_id, plan["_id"]), parsed).to_dict() if plan else None
        return commune_id, plan, year, parsed, rows, problems, diff

    @rpc(expected_exceptions=CALLER_ERRORS)
    def preview_import(self, request):
        """What importing this document would do; writes nothing."""
        caller = self.caller.current().require(*IMPORT_ROLES)
        _, _, _, parsed, rows, problems, diff = self._preview(caller, request)
        return {"title": parsed.title, "source_name": request.get("source_name", ""), "tasks": rows,
                "problems": problems, "diff": diff}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def import_plan(self, request):
        """Import a plan's appendix (text or .docx), or re-import a revised one
        into ``plan_id``: tasks are matched by code and keep their progress."""
        caller = self.caller.current().require(*IMPORT_ROLES)
        commune_id, plan, year, parsed, rows, problems, diff = self._preview(caller, request)
        source_name = request.get("source_name", "")
        if plan is None:
            plan = domain.new_plan(commune_id, parsed.title, year, caller.subject, source_name, problems, len(rows))
        else:
            plan = domain.reimported_plan(plan, parsed.title, caller.subject, source_name, problems, len(rows))
        self.tasks.upsert_many(domain.task_documents(plan, rows), new_id=_new_id, initial_status=domain.initial_status)
        event = domain.plan_imported_event(plan, caller.subject)
        if diff is None:
            stored = self.plans.add(plan, [event])
        else:
            self.tasks.mark_removed(commune_id, plan["_id"], diff["removed"])
            stored = self.plans.replace(plan, [event])
        return dict(stored, diff=diff)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def receive_directive(self, directive, commune_id=None):
        """A directive of the province (chỉ đạo của tỉnh, handed over by the
        sync agent): a task in the commune's plan of directives, its tasks
        under it, its text as a guidance note — once per ``external_id``
        (received again, it answers what it answered the first time).

        Every step can be redone, so a call that died half-way is finished
        by the next one: the directive's number is stored first, tasks are
        upserted by code, the note has the directive's id."""
        caller = self.caller.current().require(*DIRECTIVE_ROLES)
        data = load(DirectiveSchema, directive)
        commune_id = caller.commune_for(commune_id or data.pop("commune_id"))
        data.pop("commune_id", None)
        known = self.directives.get(commune_id, data["external_id"])
        if known is not None and known.get("result"):
            return known["result"]
        plan = self.plans.add_once(domain.directives_plan(commune_id, data["issued_on"].year, caller.subject))
        stored = self.directives.claim(commune_id, domain.directive_document(data, caller.subject))
        rows = domain.directive_rows(stored, stored["number"])
        self.tasks.upsert_many(domain.task_documents(plan, rows), new_id=_new_id, initial_status=domain.initial_status)
        found = self.tasks.by_codes(commune_id, plan["_id"], [row["code"] for row in rows])
        tasks = [found[row["code"]] for row in rows]
        self.tasks.apply(tasks[0], {}, domain.directive_note(stored, caller.subject), [], expect_status=False)
        task_count = self.tasks.count_of_plan(commune_id, plan["_id"])
        self.plans.set_task_count(plan, task_count,
                                  [domain.plan_imported_event(dict(plan, task_count=task_count), caller.subject)])
        result = domain.directive_result(stored, plan, tasks)
        self.directives.received(stored, result)
        return result

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_plans(self, commune_id=None):
        caller = self.caller.current().require(*READ_ROLES)
        commune_id = caller.commune_for(commune_id)
        today = local_today()
        return [dict(plan, progress=domain.plan_progress(plan, self.tasks.outline(commune_id, plan["_id"]), today))
                for plan in self.plans.list(commune_id)]

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_plan(self, plan_id, commune_id=None):
        caller = self.caller.current().require(*READ_ROLES)
        commune_id = caller.commune_for(commune_id)
        plan = self.plans.get(commune_id, plan_id)
        return dict(plan, progress=domain.plan_progress(plan, self.tasks.outline(commune_id, plan_id), local_today()))

    # ------------------------------------------------------------ tasks

    def _decorate(self, commune_id, tasks, today):
        """Add the rolled-up progress and follow-up flags the contract promises."""
        progress_by_plan = {}
        for task in tasks:
            plan_id = task["plan_id"]
            if plan_id not in progress_by_plan:
                progress_by_plan[plan_id] = domain.rolled_up_progress(self.tasks.outline(commune_id, plan_id))
        for task in tasks:
            state = domain.follow_up_state(task, today)
            task.pop("history", None)
            task["progress"] = progress_by_plan[task["plan_id"]].get(task["code"]) or 0
            task["overdue"], task["due_soon"] = state == "overdue", state == "due_soon"
        return tasks

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_tasks(self, filters=None):
        caller = self.caller.current().require(*READ_ROLES)
        query = load(TaskFilterSchema, filters or {})
        commune_id = caller.commune_for(query.pop("commune_id"))
        for key in ("agency", "q"):
            if query[key]:
                query[key] = domain.fold(query[key])
        today = local_today()
        items, total = self.tasks.find(commune_id, today, **query)
        return {"items": self._decorate(commune_id, items, today), "total": total,
                "offset": query["offset"], "limit": query["limit"]}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_task(self, task_id, commune_id=None):
        caller = self.caller.current().require(*READ_ROLES)
        commune_id = caller.commune_for(commune_id)
        task = self.tasks.get(commune_id, task_id)
        history = sorted(task.get("history", {}).values(), key=lambda e: e["at"], reverse=True)
        children = self.tasks.children(commune_id, task["plan_id"], task["code"])
        today = local_today()
        self._decorate(commune_id, [task] + children, today)
        return dict(task, history=history, children=children,
                    updates=self.updates.of_task(commune_id, task_id),
                    comments=self.comments.of_task(commune_id, task_id))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def change_status(self, request):
        """Set a task's status; the change, its history line and its
        ``task_status_changed`` event are one write."""
        caller = self.caller.current().require(*EDIT_ROLES)
        data = load(ChangeStatusSchema, request)
        task = self.tasks.get(caller.commune_for(data["commune_id"]), data["task_id"])
        domain.ensure_open(task)
        change = domain.change_status(task, data["status"], _actor(caller), data["note"])
        if change is None:
            return self._decorate(task["commune_id"], [task], local_today())[0]
        changes, entry, event = change
        return self._decorate(task["commune_id"], [self.tasks.apply(task, changes, entry, [event])], local_today())[0]

    @rpc(expected_exceptions=CALLER_ERRORS)
    def record_guidance(self, request):
        """The guidance a conditional task waited for has arrived: it gets a due date."""
        caller = self.caller.current().require(*EDIT_ROLES)
        data = load(GuidanceSchema, request)
        task = self.tasks.get(caller.commune_for(data["commune_id"]), data["task_id"])
        domain.ensure_open(task)
        changes, entry, events = domain.record_guidance(task, data["received_on"], data["due"],
                                                        _actor(caller), data["note"])
        return self._decorate(task["commune_id"], [self.tasks.apply(task, changes, entry, events)], local_today())[0]

    @rpc(expected_exceptions=CALLER_ERRORS)
    def assign(self, request):
        caller = self.caller.current().require("commune_admin")
        data = load(AssignSchema, request)
        task = self.tasks.get(caller.commune_for(data["commune_id"]), data["task_id"])
        changes, entry = domain.assign(task, data["assignees"], _actor(caller))
        return self._decorate(task["commune_id"], [self.tasks.apply(task, changes, entry, [], expect_status=False)],
                              local_today())[0]

    @rpc(expected_exceptions=CALLER_ERRORS)
    def add_update(self, request):
        """A progress report with evidence (links, files). Files are stored
        first and removed again if the report cannot be saved: no orphans."""
        caller = self.caller.current().require(*REPORT_ROLES)
        data = load(UpdateSchema, request)
        task = self.tasks.get(caller.commune_for(data["commune_id"]), data["task_id"])
        domain.ensure_open(task)
        files, stored_ids = [], []
        try:
            for upload in data["files"]:
                file_id = _new_id()
                self.updates.store_file(file_id, upload["name"], upload["content_type"], upload["content_b64"])
                stored_ids.append(file_id)
                files.append({"file_id": file_id, "name": upload["name"], "content_type": upload["content_type"],
                              "size": len(upload["content_b64"])})
            update, event = domain.new_update(task, data["text"].strip(), data["links"], files,
                                              _actor(caller))
            return self.updates.add(update, [event])
        except Exception:
            self.updates.delete_files(stored_ids)
            raise

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_evidence(self, task_id, file_id, commune_id=None):
        caller = self.caller.current().require(*READ_ROLES)
        commune_id = caller.commune_for(commune_id)
        meta = self.updates.file_of(commune_id, task_id, file_id)
        return dict(meta, content_b64=base64.b64encode(self.updates.read_file(file_id)).decode("ascii"))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def add_comment(self, request):
        caller = self.caller.current().require(*READ_ROLES)
        data = load(CommentSchema, request)
        task = self.tasks.get(caller.commune_for(data["commune_id"]), data["task_id"])
        return self.comments.add(domain.new_comment(task, data["text"].strip(), _actor(caller)))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def agency_view(self, agency_id, commune_id=None):
        """What an office is responsible for, and what of it is late."""
        caller = self.caller.current().require(*READ_ROLES)
        commune_id = caller.commune_for(commune_id)
        today = local_today()
        items, _ = self.tasks.find(commune_id, today, agency_id=agency_id, limit=500)
        items = self._decorate(commune_id, items, today)
        counts = {status: 0 for status in domain.STATUSES}
        for task in items:
            counts[task["status"]] += 1
        return {"agency_id": agency_id, "tasks": items, "counts": counts,
                "overdue": [t for t in items if t["overdue"]], "due_soon": [t for t in items if t["due_soon"]]}

    # ------------------------------------------------------------ follow-up

    @timer(interval=60)
    def follow_up(self):
        """Announce tasks that became overdue or due soon, once per due date
        (safe with several replicas: the mark and its event are one write)."""
        today = local_today()
        horizon = (today + timedelta(days=domain.DUE_SOON_DAYS)).isoformat()
        for task in self.tasks.open_with_due(horizon):
            state = domain.follow_up_state(task, today)
            if state and task.get(f"{state}_announced_for") != task["due"]:
                self.tasks.mark_followed_up(task, state, domain.follow_up_event(task, state))

    # ------------------------------------------------------------ reports

    @rpc(expected_exceptions=CALLER_ERRORS)
    def report_periods(self, plan_id, commune_id=None):
        caller = self.caller.current().require(*READ_ROLES)
        plan = self.plans.get(caller.commune_for(commune_id), plan_id)
        return reporting.periods_of(plan["year"])

    @rpc(expected_exceptions=CALLER_ERRORS)
    def generate_report(self, request):
        """The periodic report of the plan's implementation, as DOCX or XLSX."""
        caller = self.caller.current().require(*READ_ROLES)
        data = load(ReportSchema, request)
        commune_id = caller.commune_for(data["commune_id"])
        plan = self.plans.get(commune_id, data["plan_id"])
        _, _, end, label = reporting.period_range(data["period"])
        today = local_today()
        report = reporting.build_report(
            plan, self.tasks.of_plan(commune_id, plan["_id"]),
            self.updates.latest_texts(commune_id, plan["_id"], f"{end.isoformat()}T23:59:59.999Z"),
            self._indicators(commune_id, data["period"]),
            data["period"], data, today)
        content_type, render = FORMATS[data["format"]]
        filename = f"bao-cao-{domain.fold(label).replace(' ', '-').replace('/', '-')}.{data['format']}"
        return {"filename": filename, "content_type": content_type,
                "content_b64": base64.b64encode(render(report)).decode("ascii")}

    def _indicators(self, commune_id, period):
        _, start, end, _ = reporting.period_range(period)
        return indicators.values(
            self.devices.of_commune(commune_id),
            self.publications.channels_between(commune_id, f"{start.isoformat()}T00:00:00.000Z",
                                               f"{end.isoformat()}T23:59:59.999Z"),
            self.uptime.between(commune_id, start.isoformat(), end.isoformat()),
            self.broadcast_days.between(commune_id, start.isoformat(), end.isoformat()),
            self.roster_counts.as_of(commune_id, f"{end.isoformat()}T23:59:59.999Z"),
            self.completions.between(commune_id, start.isoformat(), end.isoformat()))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_indicators(self, request=None):
        """The indicators over ``start``–``end`` (default: this year so far)."""
        caller = self.caller.current().require(*READ_ROLES)
        data = load(IndicatorsSchema, request or {})
        today = local_today()
        start = data["start"] or today.replace(month=1, day=1)
        end = data["end"] or today
        if end < start:
            raise InvalidInput("Ngày kết thúc không được trước ngày bắt đầu.")
        period = {"kind": "adhoc", "start": start.isoformat(), "end": end.isoformat()}
        return self._indicators(caller.commune_for(data["commune_id"]), period)

    @event_handler("content", "item_published")
    def on_item_published(self, event):
        """Feed the "items published per channel" indicators (once per event)."""
        self.publications.record(event["event_id"], event["commune_id"], event["item_id"], event["channels"],
                                  event["published_at"])

    @event_handler("telemetry", "device_status_reported")
    def on_device_status(self, event):
        """Feed the "devices online" indicator (forward in time only)."""
        self.devices.record(event["commune_id"], event["device_id"], event["online"], event["reported_at"])

    @event_handler("telemetry", "uptime_reported")
    def on_uptime_reported(self, event):
        """Feed the "devices uptime" indicator with one local day."""
        self.uptime.record(event["commune_id"], event["date"], event["uptime"], event["devices"])

    @event_handler("broadcast", "hours_reported")
    def on_broadcast_hours(self, event):
        """Feed the "broadcasts" and "broadcast hours" indicators with one local day."""
        self.broadcast_days.record(event["commune_id"], event["date"], event["hours"], event["plays"],
                                  event["occurred_at"])

    @event_handler("training", "roster_counted")
    def on_roster_counted(self, event):
        """Feed the communicators indicators (the count as of a report's end)."""
        self.roster_counts.record(event["event_id"], event["commune_id"], event["counted_at"], event["target"],
                                  event["in_place"], event["villages_short"])

    @event_handler("training", "completions_recorded")
    def on_completions_recorded(self, event):
        """Feed the "people trained" indicators, per topic, by completion day."""
        self.completions.record(event["event_id"], event["commune_id"], event["course_id"], event["completed_on"],
                                event["topics"], len(event["people"]))
