"""In-memory twins of the telemetry repositories, for unit tests.

``test_repository.py`` runs the same tests on a twin and on the real store,
so the twin cannot drift from what it stands in for.
"""
import copy


class FakePresenceRepository:
    def __init__(self):
        self.documents = {}

    def record(self, presence):
        key = (presence["commune_id"], presence["device_id"])
        kept = self.documents.get(key)
        if kept is not None and kept["last_reported_at"] >= presence["last_reported_at"]:
            return False
        self.documents[key] = copy.deepcopy(presence)
        return True

    def list(self, commune_id):
        return [copy.deepcopy(doc) for (commune, _), doc in sorted(self.documents.items()) if commune == commune_id]
