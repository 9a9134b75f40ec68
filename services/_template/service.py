"""The _template service: say here, in a sentence, what the commune does
with it (with the Vietnamese term).

The contract is ``API.md`` beside this file; the rules are ``domain.py``.
This module validates (``schemas.py``), authorises on the caller the
gateway put in the context data (``shared.context``), stores
(``repository.py``) and, once it has events, publishes them through the
repository's outbox.
"""
import uuid

from nameko.rpc import rpc

from services._template import domain
from services._template.repository import EntryRepository
from services._template.schemas import CommuneRef, EntryFields, EntryRef
from shared.context import READ_ROLES, CallerContext
from shared.errors import CALLER_ERRORS, load
from shared.mongo import Store
from shared.observability import Observability
from shared.timeutil import iso

MANAGE_ROLES = ("commune_admin",)


def _by(caller):
    return caller.name or caller.subject


class TemplateService:
    name = "_template"

    caller = CallerContext()
    entries = Store(EntryRepository)
    observability = Observability()

    def _scope(self, roles, commune_id):
        caller = self.caller.current().require(*roles)
        return caller, caller.commune_for(commune_id)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def save_entry(self, entry, commune_id=None):
        caller, commune_id = self._scope(MANAGE_ROLES, commune_id)
        fields = load(EntryFields, entry)
        return self.entries.add(commune_id, domain.new_entry(uuid.uuid4().hex[:12], fields, _by(caller), iso()))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_entry(self, entry_id, commune_id=None):
        ref = load(EntryRef, {"entry_id": entry_id, "commune_id": commune_id})
        _, commune_id = self._scope(READ_ROLES, ref["commune_id"])
        return self.entries.get(commune_id, ref["entry_id"])

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_entries(self, commune_id=None):
        ref = load(CommuneRef, {"commune_id": commune_id})
        _, commune_id = self._scope(READ_ROLES, ref["commune_id"])
        return {"entries": self.entries.of_commune(commune_id)}
