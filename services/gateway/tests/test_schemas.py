"""The boundary's validation rules, one case each."""
import pytest

from shared.errors import InvalidInput, load
from services.gateway import schemas

USER = {"username": "bien.tap", "display_name": "Biên tập", "password": "mot-mat-khau-dai", "roles": ["editor"]}
COMMUNE = {"id": "xuan-hung", "name": "Xuân Hưng", "province": "Ninh Bình",
           "villages": [{"id": "thon-1", "name": "Thôn 1"}],
           "agencies": [{"id": "vhxh", "name": "Phòng Văn hóa – Xã hội", "aliases": ["Phòng Văn hoá – Xã hội"]}]}


def test_valid_user_gets_defaults():
    data = load(schemas.CreateUserSchema, USER)
    assert data == dict(USER, commune_id=None, agency_id=None, language="vi")


def test_usernames_are_normalised_before_validation():
    data = load(schemas.LoginSchema, {"username": "  Admin.XuanHung ", "password": "x"})
    assert data["username"] == "admin.xuanhung"


@pytest.mark.parametrize("change, field", [
    ({"username": "ab"}, "username"),
    ({"username": "người.dùng"}, "username"),
    ({"username": "a b c"}, "username"),
    ({"password": "ngắn"}, "password"),
    ({"roles": []}, "roles"),
    ({"roles": ["mayor"]}, "roles"),
    ({"display_name": ""}, "display_name"),
    ({"language": "fr"}, "language"),
    ({"is_admin": True}, "is_admin"),
])
def test_invalid_users_are_refused(change, field):
    with pytest.raises(InvalidInput) as err:
        load(schemas.CreateUserSchema, dict(USER, **change))
    assert field in err.value.details["fields"]
    assert err.value.message.startswith("Dữ liệu không hợp lệ")


@pytest.mark.parametrize("missing", ["username", "display_name", "password", "roles"])
def test_user_fields_are_required(missing):
    with pytest.raises(InvalidInput) as err:
        load(schemas.CreateUserSchema, {k: v for k, v in USER.items() if k != missing})
    assert missing in err.value.details["fields"]


def test_valid_commune():
    assert load(schemas.CommuneSchema, COMMUNE) == COMMUNE
    assert load(schemas.CommuneSchema, {"id": "yen-thang", "name": "Yên Thắng", "province": "Ninh Bình"})["villages"] == []


@pytest.mark.parametrize("change, field", [
    ({"id": "Xuân Hưng"}, "id"),
    ({"id": "xuan--hung"}, "id"),
    ({"villages": [{"id": "thon-1", "name": "Thôn 1"}, {"id": "thon-1", "name": "Thôn 1 bis"}]}, "villages"),
    ({"agencies": [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]}, "agencies"),
    ({"villages": [{"id": "thon-1", "name": "Thôn 1", "population": 900}]}, "villages"),
    ({"province": ""}, "province"),
])
def test_invalid_communes_are_refused(change, field):
    with pytest.raises(InvalidInput) as err:
        load(schemas.CommuneSchema, dict(COMMUNE, **change))
    assert field in err.value.details["fields"]


@pytest.mark.parametrize("schema, data, field", [
    (schemas.CreateApiKeySchema, {"name": "Loa thôn 1", "roles": ["superuser"]}, "roles"),
    (schemas.CreateApiKeySchema, {"roles": ["operator"]}, "name"),
    (schemas.StatusChangeSchema, {"status": "done", "note": "x" * 2001}, "note"),
    (schemas.StatusChangeSchema, {}, "status"),
    (schemas.ImportPlanSchema, {"text": ""}, "text"),
    (schemas.ActivityQuerySchema, {"limit": "0"}, "limit"),
    (schemas.ActivityQuerySchema, {"limit": "101"}, "limit"),
    (schemas.ActivityQuerySchema, {"limit": "many"}, "limit"),
    (schemas.CommuneQuerySchema, {"commune": "xuan-hung"}, "commune"),
    (schemas.EnsureUserSchema, dict(USER), "password"),
])
def test_other_boundaries_refuse_bad_input(schema, data, field):
    with pytest.raises(InvalidInput) as err:
        load(schema, data)
    assert field in err.value.details["fields"]


def test_activity_query_defaults_and_parses_strings():
    assert load(schemas.ActivityQuerySchema, {}) == {"limit": 20, "commune_id": None}
    assert load(schemas.ActivityQuerySchema, {"limit": "5"})["limit"] == 5


@pytest.mark.parametrize("schema, data, field", [
    (schemas.CreateUserSchema, dict(USER, agency_id="Phòng VH"), "agency_id"),
    (schemas.EnsureUserSchema, {"username": "lan", "display_name": "Lan", "roles": ["editor"], "agency_id": "VH XH"},
     "agency_id"),
    (schemas.ImportPlanSchema, {"text": "x", "docx_b64": "UEs="}, "docx_b64"),
    (schemas.ApplyImportFormSchema, {"content_kind": "pdf", "content_b64": "eA=="}, "content_kind"),
    (schemas.GuidanceSchema, {"received_on": "31/12/2026"}, "received_on"),
    (schemas.GuidanceSchema, {"received_on": "2026-11-02", "due": "sắp tới"}, "due"),
    (schemas.ProgressUpdateSchema, {"text": "x", "links": ["ftp://a.example/x"]}, "links"),
    (schemas.ProgressUpdateSchema, {"text": "x" * 5001}, "text"),
    (schemas.CommentSchema, {"text": ""}, "text"),
    (schemas.AssigneesSchema, {"user_ids": [f"u{n}" for n in range(11)]}, "user_ids"),
    (schemas.AssigneesSchema, {}, "user_ids"),
    (schemas.ReportQuerySchema, {"period": "week"}, "period"),
    (schemas.ReportQuerySchema, {"period": "year", "year": "năm nay"}, "year"),
    (schemas.ReportQuerySchema, {"period": "year", "year": "2026", "format": "pdf"}, "format"),
    (schemas.ReportQuerySchema, {"period": "quarter", "kind": "quarter"}, "kind"),
    (schemas.IndicatorsQuerySchema, {"start": "hôm nay"}, "start"),
])
def test_tracking_boundaries_refuse_bad_input(schema, data, field):
    with pytest.raises(InvalidInput) as err:
        load(schema, data)
    assert field in err.value.details["fields"]


def test_required_text_is_asked_for_in_vietnamese():
    with pytest.raises(InvalidInput) as err:
        load(schemas.ProgressUpdateSchema, {})
    assert "Hãy viết nội dung báo cáo tiến độ" in err.value.message


def test_dates_load_as_iso_strings_and_kind_is_a_synonym_of_period():
    assert load(schemas.GuidanceSchema, {"received_on": "2026-11-02"})["received_on"] == "2026-11-02"
    loaded = load(schemas.ReportQuerySchema, {"kind": "adhoc", "start": "2026-10-01", "end": "2026-11-15"})
    assert (loaded["period"], loaded["start"], loaded["end"], loaded["format"]) == ("adhoc", "2026-10-01",
                                                                                    "2026-11-15", "docx")


def test_ensure_user_without_an_agency_leaves_it_out():
    loaded = load(schemas.EnsureUserSchema, {"username": "lan", "display_name": "Lan", "roles": ["editor"]})
    assert "agency_id" not in loaded
