"""kill -9 of the tasks service after a status change is stored and before its
event is published loses no event: the restarted process publishes it."""
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from services.tasks.repository import TaskRepository
from shared.context import CONTEXT_KEY, Caller
from shared.testing import ServiceProcess, wait_until

OFFICER = Caller(subject="u1", commune_id="xuan-hung", roles=frozenset({"editor"}))


@pytest.fixture
def task(mongo_database):
    TaskRepository.create_indexes(mongo_database)
    task = {"commune_id": "xuan-hung", "plan_id": "p1", "code": "I.1.1", "parent_code": "I.1", "part": "I",
            "order": 2, "title": "Xây dựng Quy chế quản lý, vận hành Hệ thống thông tin nguồn của xã",
            "details": "", "lead_agency": "Phòng Văn hoá – Xã hội", "coordinating_agencies": "",
            "timeline": "Quý IV/2026", "schedule": {"kind": "quarter", "due": "2026-12-31"}, "due": "2026-12-31",
            "search": "", "lead_search": ""}
    TaskRepository(mongo_database).upsert_many([task], new_id=lambda: uuid.uuid4().hex,
                                               initial_status=lambda schedule: "not_started")
    return mongo_database.tasks.find_one({"code": "I.1.1"})


@pytest.fixture
def tasks_events(rabbit_config):
    """A durable queue bound to the tasks events before anything is published."""
    with Connection(rabbit_config["AMQP_URI"]) as conn:
        queue = Queue("crash-test", Exchange("tasks.events", type="topic", durable=True), routing_key="#", durable=True)
        queue(conn.channel()).declare()

        def received():
            messages = []
            with conn.channel() as channel:
                while (message := queue(channel).get(no_ack=True)) is not None:
                    messages.append((message.delivery_info["routing_key"], message.payload))
            return messages
        yield received


def test_kill_9_between_state_change_and_publication_loses_no_event(
        rabbit_config, mongo_uri, mongo_database, task, tasks_events, tmp_path):
    fault_file = tmp_path / "reached"
    env = {"AMQP_URI": rabbit_config["AMQP_URI"], "MONGO_URI": mongo_uri, "TASKS_DATABASE": mongo_database.name,
           "OUTBOX_RELAY_SECONDS": "0.2"}
    service = ServiceProcess("tasks", env, tmp_path / "tasks.log")
    service.start(TINXA_FAULT_POINT="outbox.before_publish", TINXA_FAULT_FILE=str(fault_file))
    try:
        with ClusterRpcProxy({"AMQP_URI": rabbit_config["AMQP_URI"]},
                             context_data={CONTEXT_KEY: OFFICER.to_json()}) as rpc:
            rpc.tasks.change_status.call_async({"task_id": task["_id"], "status": "in_progress"})
            wait_until(fault_file.exists, timeout=20, message="the process to reach the fault point")
        service.kill9()

        stored = mongo_database.tasks.find_one({"_id": task["_id"]})
        assert stored["status"] == "in_progress"
        assert len(stored["_outbox"]) == 1
        assert tasks_events() == []

        service.start()
        events = wait_until(tasks_events, timeout=20, message="the event after restart")
    finally:
        service.stop()
    assert [name for name, _ in events] == ["task_status_changed"]
    body = events[0][1]
    assert body["task_id"] == task["_id"] and body["old_status"] == "not_started" and body["new_status"] == "in_progress"
    assert "_outbox" not in mongo_database.tasks.find_one({"_id": task["_id"]})
