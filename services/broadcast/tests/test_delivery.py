"""Per-device delivery state, retries and escalation — no I/O."""
from datetime import datetime, timedelta, timezone

import pytest

from services.broadcast import delivery as d
from shared.errors import InvalidInput

T0 = datetime(2026, 9, 18, 8, 30, tzinfo=timezone.utc)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def fresh(kind="play", device_id="loa-thon-1"):
    return d.new_delivery(device_id, "cmd-1", kind, T0)


def states(delivery):
    return [entry["state"] for entry in delivery["history"]]


def run(delivery, *steps):
    """Apply each step (function, *args); a step that changes nothing keeps
    the delivery as it was."""
    for function, *args in steps:
        delivery = function(delivery, *args) or delivery
    return delivery


# ---------------------------------------------------------------- transitions


def test_a_new_delivery_is_queued_and_never_tried():
    delivery = fresh()
    assert delivery["state"] == "queued" and delivery["attempts"] == 0
    assert delivery["created_at"] == "2026-09-18T08:30:00.000Z"
    assert states(delivery) == ["queued"]


def test_a_play_goes_through_every_state():
    delivery = fresh()
    delivery = d.sent(delivery, at(1))
    assert delivery["state"] == "sent" and delivery["sent_at"] == "2026-09-18T08:30:01.000Z"
    delivery = d.command_acknowledged(delivery, "accepted", at(2), "playing")
    assert delivery["state"] == "playing"
    assert delivery["acknowledged_at"] == delivery["playing_at"] == "2026-09-18T08:30:02.000Z"
    delivery = d.command_acknowledged(delivery, "completed", at(40), "played")
    assert delivery["state"] == "played" and delivery["played_at"] == "2026-09-18T08:30:40.000Z"
    assert delivery["acknowledged_at"] == "2026-09-18T08:30:02.000Z"
    assert delivery["completed"] is None and delivery["report_id"] is None
    delivery = d.play_reported(delivery, "r-1", at(40), True)
    assert delivery["state"] == "played" and delivery["report_id"] == "r-1" and delivery["completed"] is True
    assert states(delivery) == ["queued", "sent", "playing", "played"]


def test_a_play_the_device_queues_behind_another_is_acknowledged_not_playing():
    delivery = run(fresh(), (d.sent, at(1)), (d.command_acknowledged, "accepted", at(2), "queued"))
    assert delivery["state"] == "acknowledged" and delivery["playing_at"] is None
    delivery = d.command_acknowledged(delivery, "completed", at(90), "played")
    assert states(delivery) == ["queued", "sent", "acknowledged", "played"]


def test_a_text_on_an_eboard_plays_like_audio():
    delivery = run(fresh("show_text", "bang-tin-1"), (d.sent, at(1)),
                   (d.command_acknowledged, "accepted", at(2), "showing"))
    assert delivery["state"] == "playing"
    assert d.command_acknowledged(delivery, "completed", at(60), "shown")["state"] == "played"


def test_a_schedule_sync_is_acknowledged_then_played_by_its_slots_report():
    delivery = run(fresh("schedule_sync"), (d.sent, at(1)), (d.command_acknowledged, "accepted", at(2)))
    assert delivery["state"] == "acknowledged"
    assert d.command_acknowledged(delivery, "completed", at(3), "schedule kept") is None
    delivery = d.play_reported(delivery, "r-slot", at(3600), True)
    assert delivery["state"] == "played" and delivery["report_id"] == "r-slot"


@pytest.mark.parametrize("kind", ["set_volume", "stop"])
def test_commands_with_nothing_to_play_end_acknowledged(kind):
    delivery = run(fresh(kind), (d.sent, at(1)), (d.command_acknowledged, "accepted", at(2)))
    assert delivery["state"] == "acknowledged"
    assert d.command_acknowledged(delivery, "completed", at(2)) is None


@pytest.mark.parametrize("event", [
    (d.sent, at(1)),
    (d.command_acknowledged, "accepted", at(2), "playing"),
    (d.command_acknowledged, "completed", at(3), "played"),
    (d.play_reported, "r-1", at(3), True),
])
def test_a_duplicate_event_changes_nothing(event):
    function, *args = event
    once = function(fresh(), *args)
    assert once is not None
    assert function(once, *args) is None


@pytest.mark.parametrize("late", [
    (d.sent, at(9)),
    (d.command_acknowledged, "accepted", at(9), "playing"),
    (d.command_acknowledged, "accepted", at(9), "queued"),
    (d.command_acknowledged, "rejected", at(9), "expired"),
])
def test_an_event_older_than_the_state_never_moves_it_back(late):
    played = run(fresh(), (d.command_acknowledged, "completed", at(3), "played"))
    function, *args = late
    assert function(played, *args) is None


def test_the_devices_answer_before_the_publish_confirm_is_kept():
    delivery = d.command_acknowledged(fresh(), "accepted", at(1), "playing")
    assert delivery["state"] == "playing"
    assert d.sent(delivery, at(2)) is None


def test_a_play_report_before_anything_else_proves_the_play():
    delivery = d.play_reported(fresh(), "r-1", at(30), False)
    assert delivery["state"] == "played" and delivery["completed"] is False
    assert delivery["acknowledged_at"] is None
    assert d.command_acknowledged(delivery, "accepted", at(5), "playing") is None


def test_a_rejection_fails_the_delivery_with_the_devices_reason():
    delivery = d.command_acknowledged(d.sent(fresh(), at(1)), "rejected", at(2), "expired")
    assert delivery["state"] == "failed" and delivery["failed_at"] == "2026-09-18T08:30:02.000Z"
    assert delivery["failure"] == {"reason": "rejected", "message": "expired", "at": "2026-09-18T08:30:02.000Z"}
    assert delivery["acknowledged_at"] is None


def test_a_rejection_after_the_device_accepted_is_ignored():
    playing = d.command_acknowledged(fresh(), "accepted", at(1), "playing")
    assert d.command_acknowledged(playing, "rejected", at(2), "no") is None


@pytest.mark.parametrize("event", [
    (d.sent, at(9)),
    (d.command_acknowledged, "accepted", at(9), "playing"),
    (d.command_acknowledged, "completed", at(9), "played"),
    (d.command_acknowledged, "rejected", at(9), "again"),
    (d.attempted, at(9)),
    (d.expire, at(9)),
])
def test_failed_is_final_for_everything_but_a_play_report(event):
    failed = d.expire(fresh(), at(5))
    function, *args = event
    assert function(failed, *args) is None


def test_a_late_play_report_after_failure_still_records_the_play():
    failed = d.expire(d.sent(fresh(), at(1)), at(600))
    delivery = d.play_reported(failed, "r-offline", at(20), True)
    assert delivery["state"] == "played" and delivery["played_at"] == "2026-09-18T08:30:20.000Z"
    assert delivery["failure"]["reason"] == "expired"  # what we believed then stays on record
    assert states(delivery) == ["queued", "sent", "failed", "played"]


def test_a_second_report_only_fills_in_what_was_missing():
    cut_short = d.play_reported(fresh(), "r-1", at(10), False)
    assert d.play_reported(cut_short, "r-1", at(10), False) is None
    resumed = d.play_reported(cut_short, "r-2", at(70), True)
    assert resumed["completed"] is True and resumed["report_id"] == "r-1"
    assert resumed["played_at"] == cut_short["played_at"]
    assert d.play_reported(resumed, "r-3", at(80), False) is None


def test_an_unknown_answer_is_refused():
    with pytest.raises(InvalidInput) as caught:
        d.command_acknowledged(fresh(), "ok", at(1))
    assert caught.value.message == ("status: trạng thái trả lời lệnh không hợp lệ «ok» "
                                    "(chọn một trong accepted, rejected, completed).")


def test_transitions_leave_the_delivery_they_were_given_alone():
    original = fresh()
    d.sent(original, at(1))
    d.attempted(original, at(1))
    assert original == fresh()


# ---------------------------------------------------------------- retries


@pytest.mark.parametrize("attempts, seconds", [
    (0, 0), (1, 5), (2, 10), (3, 20), (4, 40), (5, 80), (6, 160), (7, 300), (8, 300), (1000, 300),
])
def test_backoff_doubles_from_five_seconds_to_five_minutes(attempts, seconds):
    assert d.backoff(attempts) == timedelta(seconds=seconds)


def test_an_offline_device_is_retried_with_backoff_until_the_broadcast_expires():
    """The service's timer loop, once a second, against a device that never answers."""
    expires_at = at(1800)
    delivery, tries = fresh(), []
    for second in range(1801):
        now = at(second)
        due = d.retry_due(delivery, now, expires_at)
        if due == d.RETRY:
            delivery = d.attempted(delivery, now)
            tries.append(second)
        elif due == d.EXPIRE:
            delivery = d.expire(delivery, now)
    assert tries == [0, 5, 15, 35, 75, 155, 315, 615, 915, 1215, 1515]
    assert delivery["state"] == "failed" and delivery["failure"]["reason"] == "expired"
    assert delivery["failed_at"] == "2026-09-18T09:00:00.000Z"
    assert delivery["attempts"] == 11 and delivery["last_attempt_at"] == "2026-09-18T08:55:15.000Z"
    assert d.retry_due(delivery, at(1801), expires_at) is None


def test_a_sent_delivery_without_answer_is_resent_under_the_same_command():
    delivery = d.sent(d.attempted(fresh(), at(0)), at(0))
    assert d.retry_due(delivery, at(4), at(600)) is None
    assert d.retry_due(delivery, at(5), at(600)) == d.RETRY
    assert d.next_attempt_at(delivery) == at(5)
    again = d.attempted(delivery, at(5))
    assert again["state"] == "sent" and again["command_id"] == "cmd-1" and again["attempts"] == 2


@pytest.mark.parametrize("state_steps", [
    [(d.command_acknowledged, "accepted", at(1), "queued")],
    [(d.command_acknowledged, "accepted", at(1), "playing")],
    [(d.play_reported, "r-1", at(1), True)],
    [(d.command_acknowledged, "rejected", at(1), "unsupported")],
])
def test_answered_deliveries_are_not_retried_nor_expired(state_steps):
    delivery = run(d.attempted(fresh(), at(0)), *state_steps)
    assert d.retry_due(delivery, at(3600), at(600)) is None
    assert d.expire(delivery, at(3600)) is None


def test_expiry_comes_before_a_due_retry():
    assert d.retry_due(fresh(), at(600), at(600)) == d.EXPIRE
    assert d.retry_due(fresh(), at(599), at(600)) == d.RETRY


def test_a_never_tried_delivery_is_due_at_once():
    assert d.next_attempt_at(fresh()) is None
    assert d.retry_due(fresh(), T0, at(600)) == d.RETRY


# ---------------------------------------------------------------- summary and escalation


def deliveries(**counts):
    """Deliveries in the given states, one device each."""
    paths = {
        "queued": [],
        "sent": [(d.sent, at(1))],
        "acknowledged": [(d.sent, at(1)), (d.command_acknowledged, "accepted", at(2), "queued")],
        "playing": [(d.sent, at(1)), (d.command_acknowledged, "accepted", at(2), "playing")],
        "played": [(d.play_reported, "r", at(20), True)],
        "failed": [(d.command_acknowledged, "rejected", at(2), "no speaker")],
    }
    made = []
    for state, count in counts.items():
        for number in range(count):
            made.append(run(fresh(device_id=f"{state}-{number}"), *paths[state]))
            assert made[-1]["state"] == state
    return made


def test_summary_counts_states_and_the_share_acknowledged():
    summary = d.summary(deliveries(queued=1, sent=2, acknowledged=3, playing=2, played=1, failed=1))
    assert summary == {
        "total": 10,
        "states": {"queued": 1, "sent": 2, "acknowledged": 3, "playing": 2, "played": 1, "failed": 1},
        "acknowledged": 6, "share_acknowledged": 0.6,
        "unacknowledged": ["queued-0", "sent-0", "sent-1", "failed-0"]}


def test_a_play_proved_after_failure_counts_as_acknowledged():
    failed = d.expire(fresh(), at(600))
    summary = d.summary([d.play_reported(failed, "r", at(700), True)])
    assert summary["share_acknowledged"] == 1.0


def test_summary_of_nothing():
    assert d.summary([]) == {"total": 0, "states": dict.fromkeys(d.STATES, 0), "acknowledged": 0,
                             "share_acknowledged": None, "unacknowledged": []}


@pytest.mark.parametrize("acknowledged, sent, seconds, due", [
    (8, 2, 29, False),   # too early to tell
    (8, 2, 30, True),    # 80 % < 90 % at the deadline
    (9, 1, 30, False),   # exactly 90 %: not fewer
    (10, 0, 300, False),
    (0, 10, 3600, True),
    (0, 0, 30, True),    # reached no device at all
])
def test_escalation_when_too_few_acknowledged_in_time(acknowledged, sent, seconds, due):
    summary = d.summary(deliveries(playing=acknowledged, sent=sent))
    assert d.escalation_due(summary, T0, at(seconds)) is due


def test_escalation_with_other_thresholds():
    summary = d.summary(deliveries(playing=7, sent=3))
    assert d.escalation_due(summary, T0, at(60), share=0.8, within=timedelta(minutes=1)) is True
    assert d.escalation_due(summary, T0, at(59), share=0.8, within=timedelta(minutes=1)) is False
    assert d.escalation_due(summary, T0, at(60), share=0.7, within=timedelta(minutes=1)) is False


def test_escalation_happens_once():
    """The service's loop: it records escalated_at when it raises the event."""
    summary = d.summary(deliveries(playing=5, sent=5))
    escalated_at, raised = None, []
    for second in range(120):
        if d.escalation_due(summary, T0, at(second), escalated=escalated_at is not None):
            escalated_at = at(second)
            raised.append(second)
    assert raised == [30]
