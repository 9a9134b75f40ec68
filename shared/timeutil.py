"""Times are stored and sent as ISO-8601 UTC strings ("2026-11-26T13:50:44.693Z").

nx-27017 returns stored datetimes as strings while MongoDB returns datetimes,
so code that must run on both stores keeps its own fixed-width string form,
which also sorts correctly.
"""
from datetime import datetime, timedelta, timezone


def utcnow():
    return datetime.now(timezone.utc)


def iso(moment=None):
    moment = moment or utcnow()
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


VIETNAM = timezone(timedelta(hours=7), "ICT")


def local_today():
    """Today's date in Vietnam (UTC+7, no daylight saving): deadlines are
    calendar dates there."""
    return utcnow().astimezone(VIETNAM).date()
