"""The tasks service's storage: the only code that touches its collections."""
import re

from pymongo import ASCENDING

from shared.mongo import Repository
from shared.timeutil import iso


class PlanRepository(Repository):
    collection_name = "plans"
    indexes = (([("commune_id", ASCENDING), ("imported_at", ASCENDING)], {}),)

    def add(self, plan, events):
        return self.public(self._insert_with_events(plan, events))

    def list(self, commune_id):
        return [self.public(p) for p in self._collection.find({"commune_id": commune_id}).sort("imported_at", ASCENDING)]

    def get(self, commune_id, plan_id):
        plan = self._collection.find_one({"_id": plan_id, "commune_id": commune_id})
        if plan is None:
            raise self.NotFound("Không tìm thấy kế hoạch.", {"plan_id": plan_id})
        return self.public(plan)


class TaskRepository(Repository):
    collection_name = "tasks"
    indexes = (
        ([("commune_id", ASCENDING), ("plan_id", ASCENDING), ("code", ASCENDING)], {"unique": True}),
        ([("commune_id", ASCENDING), ("plan_id", ASCENDING), ("order", ASCENDING)], {}),
        ([("commune_id", ASCENDING), ("status", ASCENDING)], {}),
    )

    def upsert_many(self, tasks, new_id):
        """Insert new tasks, update the text of existing ones by code; progress
        (status and its history) of existing tasks is kept."""
        for task in tasks:
            key = {"commune_id": task["commune_id"], "plan_id": task["plan_id"], "code": task["code"]}
            self._collection.update_one(
                key,
                {"$set": {**task, "updated_at": iso()},
                 "$setOnInsert": {"_id": new_id(), "status": "not_started", "created_at": iso()}},
                upsert=True,
            )

    def get(self, commune_id, task_id):
        task = self._collection.find_one({"_id": task_id, "commune_id": commune_id}, {"search": 0, "lead_search": 0})
        if task is None:
            raise self.NotFound("Không tìm thấy nhiệm vụ.", {"task_id": task_id})
        return self.public(task)

    def find(self, commune_id, plan_id=None, status=None, part=None, agency=None, q=None, offset=0, limit=100):
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
        if q:
            query["search"] = {"$regex": re.escape(q)}
        total = self._collection.count_documents(query)
        cursor = (self._collection.find(query, {"search": 0, "lead_search": 0, "_outbox": 0, "_outbox_since": 0})
                  .sort([("plan_id", ASCENDING), ("order", ASCENDING)]).skip(offset).limit(limit))
        return list(cursor), total

    def count_by_status(self, commune_id, plan_id):
        rows = self._collection.aggregate([
            {"$match": {"commune_id": commune_id, "plan_id": plan_id}},
            {"$group": {"_id": "$status", "n": {"$sum": 1}}},
        ])
        return {row["_id"]: row["n"] for row in rows}

    def set_status(self, task, changes, event):
        """Write the new status and its event in one document update, only if
        nobody changed the status meanwhile."""
        doc = self._update_with_events(
            {"_id": task["_id"], "commune_id": task["commune_id"], "status": task["status"]},
            {"$set": changes},
            [event],
        )
        if doc is None:
            raise self.Conflict("Nhiệm vụ vừa được người khác cập nhật; vui lòng tải lại và thử lại.")
        return self.public({k: v for k, v in doc.items() if k not in ("search", "lead_search")})
