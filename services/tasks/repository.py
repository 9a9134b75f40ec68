"""The tasks service's storage: the only code that touches its collections."""
import re
import uuid
from datetime import timedelta

import gridfs
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError, OperationFailure

from shared.mongo import Repository
from shared.timeutil import iso

HIDDEN = {"search": 0, "lead_search": 0, "_outbox": 0, "_outbox_since": 0,
          "overdue_announced_for": 0, "due_soon_announced_for": 0}


class PlanRepository(Repository):
    collection_name = "plans"
    indexes = (([("commune_id", ASCENDING), ("imported_at", ASCENDING)], {}),)

    def add(self, plan, events):
        return self.public(self._insert_with_events(plan, events))

    def replace(self, plan, events):
        """A re-imported plan: its new title, counts and problems, with its event."""
        fields = {k: v for k, v in plan.items() if k != "_id"}
        return self.public(self._update_with_events({"_id": plan["_id"], "commune_id": plan["commune_id"]},
                                                    {"$set": fields}, events))

    def add_once(self, plan):
        """Insert a plan whose id is fixed by what it is (a commune's plan of
        directives), or read the one already there."""
        try:
            return self.add(plan, [])
        except self.Conflict:
            return self.get(plan["commune_id"], plan["_id"])

    def set_task_count(self, plan, task_count, events):
        return self.public(self._update_with_events({"_id": plan["_id"], "commune_id": plan["commune_id"]},
                                                    {"$set": {"task_count": task_count}}, events))

    def list(self, commune_id):
        return [self.public(p) for p in self._collection.find({"commune_id": commune_id}).sort("imported_at", ASCENDING)]

    def get(self, commune_id, plan_id):
        plan = self._collection.find_one({"_id": plan_id, "commune_id": commune_id})
        if plan is None:
            raise self.NotFound("Không tìm thấy kế hoạch.", {"plan_id": plan_id})
        return self.public(plan)


class TaskRepository(Repository):
    collection_name = "tasks"
    boolean_fields = ("removed_from_plan", "is_group")
    indexes = (
        ([("commune_id", ASCENDING), ("plan_id", ASCENDING), ("code", ASCENDING)], {"unique": True}),
        ([("commune_id", ASCENDING), ("plan_id", ASCENDING), ("order", ASCENDING)], {}),
        ([("commune_id", ASCENDING), ("status", ASCENDING)], {}),
        ([("due", ASCENDING)], {}),
    )

    def upsert_many(self, tasks, new_id, initial_status):
        """Insert new tasks, update the text of existing ones by code; the
        progress (status, history, assignees) of existing tasks is kept."""
        for task in tasks:
            key = {"commune_id": task["commune_id"], "plan_id": task["plan_id"], "code": task["code"]}
            self._collection.update_one(
                key,
                {"$set": {**task, "updated_at": iso()},
                 "$setOnInsert": {"_id": new_id(), "status": initial_status(task["schedule"]),
                                  "assignees": [], "created_at": iso(),
                                  "overdue_announced_for": "", "due_soon_announced_for": ""}},
                upsert=True,
            )

    def mark_removed(self, commune_id, plan_id, codes):
        """Tasks a revised plan no longer has: kept with their progress, flagged."""
        if codes:
            self._collection.update_many({"commune_id": commune_id, "plan_id": plan_id, "code": {"$in": list(codes)}},
                                         {"$set": {"removed_from_plan": True, "updated_at": iso()}})

    def get(self, commune_id, task_id):
        task = self._collection.find_one({"_id": task_id, "commune_id": commune_id}, HIDDEN)
        if task is None:
            raise self.NotFound("Không tìm thấy nhiệm vụ.", {"task_id": task_id})
        return self.public(task)

    def of_plan(self, commune_id, plan_id):
        """Every task of a plan in document order (for roll-ups and reports)."""
        return [self.public(t) for t in self._collection.find({"commune_id": commune_id, "plan_id": plan_id}, HIDDEN).sort("order", ASCENDING)]

    def outline(self, commune_id, plan_id):
        """Just what a roll-up needs (code, parent, status, due) of a plan's tasks."""
        fields = {"code": 1, "parent_code": 1, "status": 1, "due": 1, "level": 1, "title": 1, "removed_from_plan": 1}
        return [self.public(t) for t in self._collection.find({"commune_id": commune_id, "plan_id": plan_id}, fields)]

    def by_codes(self, commune_id, plan_id, codes):
        """code → task, for the given codes of a plan."""
        found = self._collection.find({"commune_id": commune_id, "plan_id": plan_id, "code": {"$in": list(codes)}},
                                      {**HIDDEN, "history": 0})
        return {t["code"]: self.public(t) for t in found}

    def count_of_plan(self, commune_id, plan_id):
        return self._collection.count_documents({"commune_id": commune_id, "plan_id": plan_id})

    def children(self, commune_id, plan_id, code):
        return [self.public(t) for t in self._collection.find(
            {"commune_id": commune_id, "plan_id": plan_id, "parent_code": code}, {**HIDDEN, "history": 0}).sort("order", ASCENDING)]

    def of_commune(self, commune_id):
        return [self.public(t) for t in self._collection.find({"commune_id": commune_id}, HIDDEN).sort([("plan_id", ASCENDING), ("order", ASCENDING)])]

    def find(self, commune_id, today, plan_id=None, status=None, part=None, agency=None, agency_id=None, q=None,
             due=None, offset=0, limit=100):
        """Tasks in document order, filtered; returns (page, total).

        ``agency`` and ``q`` match accent-folded text, so "van hoa" finds
        "Phòng Văn hoá – Xã hội" and "Phòng Văn hóa – Xã hội" alike.
        """
        query = {"commune_id": commune_id}
        if plan_id:
            query["plan_id"] = plan_id
        if status:
            query["status"] = status
        if part:
            query["part"] = part
        if agency:
            query["lead_search"] = {"$regex": re.escape(agency)}
        if agency_id:
            query["agency_ids"] = agency_id
        if q:
            query["search"] = {"$regex": re.escape(q)}
        if due:
            query.update(self._due_query(due, today))
        total = self._collection.count_documents(query)
        cursor = (self._collection.find(query, HIDDEN)
                  .sort([("plan_id", ASCENDING), ("order", ASCENDING)]).skip(offset).limit(limit))
        return [self.public(t) for t in cursor], total

    @staticmethod
    def _due_query(due, today):
        open_ = {"status": {"$nin": ["done", "cancelled"]}, "removed_from_plan": False}
        if due == "overdue":
            return {**open_, "due": {"$lt": today.isoformat()}}
        if due == "due_soon":
            return {**open_, "due": {"$gte": today.isoformat(), "$lte": (today + timedelta(days=7)).isoformat()}}
        if due == "no_deadline":
            return {"due": None, "is_group": False}
        quarter_start = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
        quarter_end = (quarter_start + timedelta(days=92)).replace(day=1) - timedelta(days=1)
        return {"due": {"$gte": quarter_start.isoformat(), "$lte": quarter_end.isoformat()}}

    def apply(self, task, changes, entry, events, expect_status=True):
        """Write changes, a history entry and their events in one document
        update; refused if someone changed the status meanwhile."""
        query = {"_id": task["_id"], "commune_id": task["commune_id"]}
        if expect_status:
            query["status"] = task["status"]
        update = {"$set": {**changes, f"history.{entry['id']}": entry, "updated_at": iso()}}
        doc = self._update_with_events(query, update, events)
        if doc is None:
            raise self.Conflict("Nhiệm vụ vừa được người khác cập nhật; vui lòng tải lại và thử lại.")
        return self.public({k: v for k, v in doc.items() if k not in HIDDEN})

    def open_with_due(self, due_before):
        """Open tasks of every commune due on or before a date (follow-up timer)."""
        return list(self._collection.find(
            {"due": {"$ne": None, "$lte": due_before}, "status": {"$nin": ["done", "cancelled"]}, "removed_from_plan": False},
            {"search": 0, "lead_search": 0, "history": 0}))

    def mark_followed_up(self, task, state, event):
        """Record that ``state`` was announced for the task's current due date;
        False if it already was (by this or another replica).

        A compare-and-set on the value read (not ``$ne``, which nx-27017 does
        not match against null or "").
        """
        field = f"{state}_announced_for"
        doc = self._update_with_events({"_id": task["_id"], field: task.get(field, "")},
                                       {"$set": {field: task["due"]}}, [event])
        return doc is not None


class UpdateRepository(Repository):
    """Progress reports (báo cáo tiến độ) and their evidence files (GridFS)."""

    collection_name = "updates"
    indexes = (([("commune_id", ASCENDING), ("task_id", ASCENDING), ("at", DESCENDING)], {}),)
    MAX_FILE_BYTES = 10 * 1024 * 1024

    def __init__(self, database, written=None, context=None):
        super().__init__(database, written, context)
        self._files = gridfs.GridFSBucket(database, bucket_name="evidence")

    def store_file(self, file_id, name, content_type, data):
        self._files.upload_from_stream_with_id(file_id, name, data, metadata={"content_type": content_type})

    def delete_files(self, file_ids):
        for file_id in file_ids:
            try:
                self._files.delete(file_id)
            except (gridfs.errors.NoFile, OperationFailure):  # nx-27017 raises the latter
                pass

    def read_file(self, file_id):
        return self._files.open_download_stream(file_id).read()

    def add(self, update, events):
        return self.public(self._insert_with_events(update, events))

    def of_task(self, commune_id, task_id):
        return [self.public(u) for u in self._collection.find({"commune_id": commune_id, "task_id": task_id}).sort("at", DESCENDING)]

    def latest_texts(self, commune_id, plan_id, until):
        """task id → the text of its latest report up to a time (the report's "Kết quả")."""
        latest = {}
        for update in self._collection.find({"commune_id": commune_id, "plan_id": plan_id, "at": {"$lte": until}},
                                            {"task_id": 1, "text": 1, "at": 1}).sort("at", ASCENDING):
            latest[update["task_id"]] = update["text"]
        return latest

    def file_of(self, commune_id, task_id, file_id):
        update = self._collection.find_one({"commune_id": commune_id, "task_id": task_id, "files.file_id": file_id},
                                           {"files": 1})
        if update is None:
            raise self.NotFound("Không tìm thấy tệp minh chứng.", {"file_id": file_id})
        return next(f for f in update["files"] if f["file_id"] == file_id)


class DirectiveRepository(Repository):
    """Directives received from the province (chỉ đạo của tỉnh): one per
    ``external_id``, numbered in the order they came (the number is their
    task's code in the plan of directives), each with what receiving it
    answered, so receiving it again answers the same and creates nothing."""

    collection_name = "directives"
    indexes = (
        ([("commune_id", ASCENDING), ("external_id", ASCENDING)], {"unique": True}),
        ([("commune_id", ASCENDING), ("number", ASCENDING)], {"unique": True}),
    )
    ATTEMPTS = 50

    def get(self, commune_id, external_id):
        return self.public(self._collection.find_one({"commune_id": commune_id, "external_id": external_id}))

    def claim(self, commune_id, directive):
        """Store a directive with the commune's next number; the one stored
        under its ``external_id`` if an earlier or concurrent call came first."""
        for _ in range(self.ATTEMPTS):
            known = self.get(commune_id, directive["external_id"])
            if known is not None:
                return known
            last = list(self._collection.find({"commune_id": commune_id}, {"number": 1})
                        .sort("number", DESCENDING).limit(1))
            doc = {**directive, "_id": uuid.uuid4().hex, "commune_id": commune_id,
                   "number": last[0]["number"] + 1 if last else 1, "result": None}
            try:
                self._collection.insert_one(doc)
                return doc
            except DuplicateKeyError:
                continue  # the number or the directive was taken meanwhile: look again
        raise self.Conflict("Nhiều chỉ đạo đang được tiếp nhận cùng lúc; hãy thử lại.")

    def received(self, directive, result):
        self._collection.update_one({"_id": directive["_id"]}, {"$set": {"result": result}})


class CommentRepository(Repository):
    collection_name = "comments"
    indexes = (([("commune_id", ASCENDING), ("task_id", ASCENDING), ("at", ASCENDING)], {}),)

    def add(self, comment):
        return self.public(self._insert_with_events(comment, []))

    def of_task(self, commune_id, task_id):
        return [self.public(c) for c in self._collection.find({"commune_id": commune_id, "task_id": task_id}).sort("at", ASCENDING)]


class DeviceStateRepository(Repository):
    """Read model for the "devices online" indicator: each device's latest
    reported state, moving forward in time only."""

    collection_name = "device_states"
    boolean_fields = ("online",)
    indexes = (([("commune_id", ASCENDING), ("device_id", ASCENDING)], {"unique": True}),)

    def record(self, commune_id, device_id, online, reported_at):
        return self._upsert_if_newer({"commune_id": commune_id, "device_id": device_id}, "reported_at",
                                     {"online": online, "reported_at": reported_at}, new_id=lambda: uuid.uuid4().hex)

    def of_commune(self, commune_id):
        return [self.public(d) for d in self._collection.find({"commune_id": commune_id}, {"online": 1})]


class UptimeRepository(Repository):
    """Read model for the "devices uptime" indicator: the commune's uptime per
    local day as telemetry reported it; a day reported again replaces itself."""

    collection_name = "device_uptime"
    indexes = (([("commune_id", ASCENDING), ("date", ASCENDING)], {}),)

    def record(self, commune_id, date, uptime, devices):
        self._collection.update_one({"_id": f"{commune_id}/{date}"}, {"$set": {
            "commune_id": commune_id, "date": date, "uptime": uptime, "devices": devices}}, upsert=True)

    def between(self, commune_id, start, end):
        """The days in [start, end] (ISO dates)."""
        return [self.public(d) for d in self._collection.find(
            {"commune_id": commune_id, "date": {"$gte": start, "$lte": end}}, {"_id": 0})]


class BroadcastDayRepository(Repository):
    """Read model for the "broadcasts" and "broadcast hours" indicators: the
    commune's broadcast hours and plays per local day as the broadcast service
    reported them; a day reported again (late proof of play) replaces itself."""

    collection_name = "broadcast_days"
    indexes = (([("commune_id", ASCENDING), ("date", ASCENDING)], {}),)

    def record(self, commune_id, date, hours, plays, reported_at):
        """Keep the day's latest report (by when the broadcast service made
        it): handlers run concurrently and a retried one comes late, so an
        older report must never replace a newer one. The condition and the
        write are one operation; a day kept before ``reported_at`` existed is
        replaced by any report."""
        older = {"_id": f"{commune_id}/{date}",
                 "$or": [{"reported_at": {"$lt": reported_at}}, {"reported_at": {"$exists": False}}]}
        try:
            self._collection.update_one(older, {"$set": {
                "commune_id": commune_id, "date": date, "hours": hours, "plays": plays,
                "reported_at": reported_at}}, upsert=True)
        except DuplicateKeyError:
            pass  # a report of that day at least as recent is kept

    def between(self, commune_id, start, end):
        """The days in [start, end] (ISO dates)."""
        return [self.public(d) for d in self._collection.find(
            {"commune_id": commune_id, "date": {"$gte": start, "$lte": end}}, {"_id": 0})]


class RosterCountRepository(Repository):
    """Read model for the communicators indicators: every roster count the
    training service published (one document per event, so a redelivery
    cannot count twice); a report reads the last one by its period's end."""

    collection_name = "roster_counts"
    indexes = (([("commune_id", ASCENDING), ("counted_at", ASCENDING)], {}),)

    def record(self, event_id, commune_id, counted_at, target, in_place, villages_short):
        try:
            self._collection.insert_one({"_id": event_id, "commune_id": commune_id, "counted_at": counted_at,
                                         "target": target, "in_place": in_place, "villages_short": villages_short})
        except DuplicateKeyError:
            pass

    def as_of(self, commune_id, end):
        """The last count at or before ``end`` (ISO UTC), or None."""
        found = list(self._collection.find({"commune_id": commune_id, "counted_at": {"$lte": end}}, {"_id": 0})
                     .sort("counted_at", -1).limit(1))
        return self.public(found[0]) if found else None


class CompletionRepository(Repository):
    """Read model for the "people trained" indicators: one document per
    completions event (a course closed, an online import), with its day,
    topics and number of people."""

    collection_name = "training_completions"
    indexes = (([("commune_id", ASCENDING), ("completed_on", ASCENDING)], {}),)

    def record(self, event_id, commune_id, course_id, completed_on, topics, people):
        try:
            self._collection.insert_one({"_id": event_id, "commune_id": commune_id, "course_id": course_id,
                                         "completed_on": completed_on, "topics": list(topics), "people": people})
        except DuplicateKeyError:
            pass

    def between(self, commune_id, start, end):
        """The completions on days in [start, end] (ISO dates)."""
        return [self.public(d) for d in self._collection.find(
            {"commune_id": commune_id, "completed_on": {"$gte": start, "$lte": end}}, {"_id": 0})]


class PublicationRepository(Repository):
    """Read model for the "items published per channel" indicators: one
    document per publication event, so a redelivery cannot count twice."""

    collection_name = "publications"
    indexes = (([("commune_id", ASCENDING), ("published_at", ASCENDING)], {}),)

    def record(self, event_id, commune_id, item_id, channels, published_at):
        try:
            self._collection.insert_one({"_id": event_id, "commune_id": commune_id, "item_id": item_id,
                                         "channels": channels, "published_at": published_at})
        except DuplicateKeyError:
            pass

    def channels_between(self, commune_id, start, end):
        """The channel lists of the commune's publications in [start, end] (ISO times)."""
        return [p["channels"] for p in self._collection.find(
            {"commune_id": commune_id, "published_at": {"$gte": start, "$lte": end}}, {"channels": 1})]
