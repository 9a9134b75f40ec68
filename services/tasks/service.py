"""The tasks service (nhiệm vụ): plans imported from their documents, their
tasks, and status changes that other services hear about."""
import uuid

from nameko.rpc import rpc

from services.tasks import domain
from services.tasks.plan_import import PlanFormatError, parse_plan_text
from services.tasks.repository import PlanRepository, TaskRepository
from services.tasks.schemas import ChangeStatusSchema, ImportPlanSchema, TaskFilterSchema
from shared.context import READ_ROLES, CallerContext
from shared.errors import CALLER_ERRORS, InvalidInput, load
from shared.mongo import Store
from shared.observability import Observability

EDIT_ROLES = ("commune_admin", "editor", "approver")


class TasksService:
    name = "tasks"

    caller = CallerContext()
    plans = Store(PlanRepository)
    tasks = Store(TaskRepository)
    observability = Observability()

    @rpc(expected_exceptions=CALLER_ERRORS)
    def import_plan(self, request):
        """Import a plan's appendix from its text form; returns the plan and
        the problems an officer should check."""
        caller = self.caller.current().require("commune_admin", "editor")
        data = load(ImportPlanSchema, request)
        commune_id = caller.commune_for(data["commune_id"])
        try:
            parsed = parse_plan_text(data["text"])
        except PlanFormatError as err:
            raise InvalidInput(str(err)) from err
        plan = domain.new_plan(commune_id, parsed, caller.subject, data["source_name"])
        self.tasks.upsert_many(domain.tasks_from_plan(plan, parsed), new_id=lambda: uuid.uuid4().hex)
        return self.plans.add(plan, [domain.plan_imported_event(plan, caller.subject)])

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_plans(self, commune_id=None):
        caller = self.caller.current().require(*READ_ROLES)
        commune_id = caller.commune_for(commune_id)
        plans = self.plans.list(commune_id)
        for plan in plans:
            plan["progress"] = self.tasks.count_by_status(commune_id, plan["_id"])
        return plans

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_tasks(self, filters=None):
        caller = self.caller.current().require(*READ_ROLES)
        query = load(TaskFilterSchema, filters or {})
        commune_id = caller.commune_for(query.pop("commune_id"))
        for key in ("agency", "q"):
            if query[key]:
                query[key] = domain.fold(query[key])
        items, total = self.tasks.find(commune_id, **query)
        return {"items": items, "total": total, "offset": query["offset"], "limit": query["limit"]}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_task(self, task_id, commune_id=None):
        caller = self.caller.current().require(*READ_ROLES)
        return self.tasks.get(caller.commune_for(commune_id), task_id)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def change_status(self, request):
        """Set a task's status; emits ``task_status_changed`` with it, atomically."""
        caller = self.caller.current().require(*EDIT_ROLES)
        data = load(ChangeStatusSchema, request)
        task = self.tasks.get(caller.commune_for(data["commune_id"]), data["task_id"])
        changes, event = domain.change_status(task, data["status"], caller.subject)
        if changes is None:
            return task
        return self.tasks.set_status(task, changes, event)
