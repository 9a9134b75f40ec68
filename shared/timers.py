"""Timers that run on one replica at a time.

``configured_timer("SETTING", default)`` is nameko's timer with its interval
read from the service's config when the container starts; ``Replica`` names
this container among the service's replicas; ``LeaseRepository`` keeps who
does a timer's work for now (a lease renewed each pass, taken over only once
it expired), so one replica acts per pass. A pass must be written so that
redoing it after a crash changes nothing twice.
"""
import socket
import uuid
from datetime import timedelta

from nameko.extensions import DependencyProvider
from nameko.timer import Timer
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared.mongo import Repository
from shared.timeutil import iso


class ConfiguredTimer(Timer):
    """nameko's timer with its interval taken from a config setting when the
    container starts, so deployments and tests can tune it."""

    def __init__(self, setting, default, **kwargs):
        super().__init__(interval=default, **kwargs)
        self.setting = setting

    def setup(self):
        self.interval = float(self.container.config.get(self.setting, self.interval))


configured_timer = ConfiguredTimer.decorator


class Replica(DependencyProvider):
    """This container's name among the service's replicas (a lease holder)."""

    def setup(self):
        self.name = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"

    def get_dependency(self, worker_ctx):
        return self.name


class LeaseRepository(Repository):
    """``leases``: which replica does a timer's work for now.

    A lease is held until ``expires_at``; its holder renews it every pass,
    and another replica takes it over only once it expired (a stopped or
    stuck holder), so one replica acts per pass.
    """

    collection_name = "leases"

    def acquire(self, name, holder, now, seconds):
        expires = iso(now + timedelta(seconds=seconds))
        taken = self._collection.find_one_and_update(
            {"_id": name, "$or": [{"holder": holder}, {"expires_at": {"$lt": iso(now)}}]},
            {"$set": {"holder": holder, "expires_at": expires}}, return_document=ReturnDocument.AFTER)
        if taken is not None:
            return True
        try:
            self._collection.insert_one({"_id": name, "holder": holder, "expires_at": expires})
            return True
        except DuplicateKeyError:
            return False


def lease_seconds(config, setting, default_interval, floor):
    """How long a pass's lease lasts: a few intervals, at least ``floor``."""
    return max(floor, 3 * float(config.get(setting, default_interval)))
