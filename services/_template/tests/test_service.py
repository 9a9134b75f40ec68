"""The _template service as a nameko container on the real broker and store
(nx-27017, or the MongoDB of ``TINXA_TEST_MONGO_URI``; fixtures from
``shared/testing.py`` and nameko's pytest plugin), called as the gateway calls
it: with the caller in the context data."""
import pytest
from nameko.testing.services import entrypoint_hook

from services._template.service import TemplateService
from shared.context import CONTEXT_KEY, Caller
from shared.errors import Forbidden, InvalidInput, NotFound, TinxaError, Unauthenticated

C = "xuan-hung"


def who(*roles, commune_id=C):
    return Caller(subject="u1", commune_id=commune_id, roles=frozenset(roles), name="Nguyễn Thị Lan")


ADMIN, VIEWER = who("commune_admin"), who("viewer")
NEIGHBOUR = who("commune_admin", commune_id="yen-thang")
DISTRICT = who("district_admin", commune_id=None)


@pytest.fixture
def container(container_factory, service_config):
    container = container_factory(TemplateService, service_config)
    container.start()
    return container


def call(container, method, *args, caller=ADMIN, **kwargs):
    context = {CONTEXT_KEY: caller.to_json()} if caller else {}
    with entrypoint_hook(container, method, context_data=context) as hook:
        return hook(*args, **kwargs)


def refused(container, method, *args, **kwargs):
    with pytest.raises(TinxaError) as caught:
        call(container, method, *args, **kwargs)
    return caught.value


def test_an_entry_written_is_read_back_by_anyone_of_the_commune(container):
    saved = call(container, "save_entry", {"title": "  Lịch tiếp công dân  ", "text": "Sáng thứ Năm hằng tuần"})
    assert saved["entry_id"] and saved["title"] == "Lịch tiếp công dân" and saved["created_by"] == "Nguyễn Thị Lan"
    assert "commune_id" not in saved and "_id" not in saved

    found = call(container, "get_entry", saved["entry_id"], caller=VIEWER)
    assert found == saved
    assert call(container, "list_entries", caller=VIEWER)["entries"] == [saved]
    assert call(container, "get_entry", saved["entry_id"], commune_id=C, caller=DISTRICT) == saved


def test_another_communes_caller_cannot_read_an_entry(container):
    saved = call(container, "save_entry", {"title": "Danh sách loa hỏng"})

    assert isinstance(refused(container, "get_entry", saved["entry_id"], commune_id=C, caller=NEIGHBOUR), Forbidden)
    assert isinstance(refused(container, "get_entry", saved["entry_id"], caller=NEIGHBOUR), NotFound)
    assert call(container, "list_entries", caller=NEIGHBOUR)["entries"] == []
    assert isinstance(refused(container, "list_entries", commune_id=C, caller=NEIGHBOUR), Forbidden)
    # a district admin reads a commune only by naming it
    assert isinstance(refused(container, "get_entry", saved["entry_id"], caller=DISTRICT), Forbidden)


def test_only_the_managing_roles_write_and_only_known_callers_read(container):
    assert isinstance(refused(container, "save_entry", {"title": "Thông báo"}, caller=VIEWER), Forbidden)
    assert isinstance(refused(container, "list_entries", caller=None), Unauthenticated)
    assert call(container, "list_entries")["entries"] == []


@pytest.mark.parametrize("entry, field", [
    ({}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": 12}, "title"),
    ({"title": "Thông báo", "text": "x" * 4001}, "text"),
    ({"title": "Thông báo", "colour": "đỏ"}, "colour"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(container, entry, field):
    error = refused(container, "save_entry", entry)
    assert isinstance(error, InvalidInput)
    assert field in error.details["fields"] and error.message.startswith("Dữ liệu không hợp lệ")
    assert call(container, "list_entries")["entries"] == []


def test_a_request_that_is_not_an_object_or_names_no_entry_is_refused(container):
    assert isinstance(refused(container, "save_entry", ["Thông báo"]), InvalidInput)
    assert "entry_id" in refused(container, "get_entry", "").details["fields"]
