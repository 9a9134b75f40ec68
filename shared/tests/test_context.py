"""The caller context: roles and commune scoping."""
import pytest

from shared.context import Caller
from shared.errors import Forbidden


def caller(commune="xuan-hung", *roles):
    return Caller(subject="u", commune_id=commune, roles=frozenset(roles))


def test_round_trips_through_context_data():
    original = Caller(subject="u1", commune_id="xuan-hung", roles=frozenset({"editor", "viewer"}), name="Nguyễn Văn A")
    assert Caller.from_json(original.to_json()) == original


@pytest.mark.parametrize("roles, required, allowed", [
    (("viewer",), ("editor",), False),
    (("editor",), ("editor", "approver"), True),
    (("district_admin",), ("editor",), True),
    ((), ("viewer",), False),
])
def test_require(roles, required, allowed):
    subject = caller("xuan-hung", *roles)
    if allowed:
        assert subject.require(*required) is subject
    else:
        with pytest.raises(Forbidden):
            subject.require(*required)


def test_a_commune_user_acts_only_in_their_commune():
    officer = caller("xuan-hung", "editor")
    assert officer.commune_for(None) == "xuan-hung"
    assert officer.commune_for("xuan-hung") == "xuan-hung"
    with pytest.raises(Forbidden):
        officer.commune_for("other")


def test_a_district_admin_must_name_the_commune():
    admin = Caller(subject="d", commune_id=None, roles=frozenset({"district_admin"}))
    assert admin.commune_for("other") == "other"
    with pytest.raises(Forbidden):
        admin.commune_for(None)
