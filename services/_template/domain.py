"""The _template service's rules: plain functions, no nameko, no pymongo.

An *entry* is the one kind of record this service starts with: replace it
with the service's own domain (the words of ``API.md``), and keep the rules
here, tested without I/O in ``tests/test_domain.py``.
"""


def new_entry(entry_id, fields, by, now):
    """A new entry from validated ``fields`` (``schemas.EntryFields``)."""
    return {"entry_id": entry_id, "title": fields["title"], "text": fields["text"],
            "created_by": by, "created_at": now, "updated_at": now}
