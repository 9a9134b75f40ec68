"""``GET /api/home``: the home page's panels as JSON, a panel whose service
did not answer ``available: false`` with the rest still 200, the caller's
own commune only, and its place in the OpenAPI document; with every service
replaced by a stand-in."""
import pytest

from services.gateway import schemas
from services.gateway.errors import ServiceUnavailable
from services.gateway.openapi import DOCUMENT
from services.gateway.tests import samples
from services.gateway.tests import test_home_console
from shared.timeutil import local_today

# the console tests' fixtures, shared
home_config, stand = test_home_console.home_config, test_home_console.stand

PANELS = ("plans", "devices", "programmes", "alarms", "sync", "publications", "activity")


def test_the_dashboard_as_json(stand, web_session, people, sign_in, mongo_database):
    mongo_database.activity.insert_one({
        "_id": "e1", "commune_id": "xuan-hung", "occurred_at": "2026-05-04T03:02:01.000Z", "kind": "plan_imported",
        "actor": "u", "actor_name": "Chị Lan", "summary": "…", "data": {"plan_id": "p1", "title": "Kế hoạch"}})
    sign_in(people["viewer"])
    response = web_session.get("/api/home")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"commune_id", "date", "generated_at", *PANELS}
    assert body["commune_id"] == "xuan-hung" and body["date"] == local_today().isoformat()
    assert all(body[name]["available"] is True for name in PANELS)

    assert body["plans"]["items"] == [samples.plan()]
    assert body["devices"] == {"available": True, "online": 1, "total": 4, "villages": [
        {"village": "thon-1", "name": "Thôn 1", "online": 1, "total": 3, "offline": 2},
        {"village": None, "name": None, "online": 0, "total": 1, "offline": 1}]}
    zones = body["programmes"]["zones"]
    assert [(z["zone_id"], [(s["programme_id"], s["starts"], s["ends"]) for s in z["slots"]]) for z in zones] == [
        ("thon-1", [("sang", "06:00", "06:15"), ("dich", "17:30", "17:45")]),
        ("loa-cho", [("dich", "17:30", "17:45")]),
        (None, [("le", "20:00", "20:30")])]
    assert zones[0]["slots"][0]["starts_at"].endswith("T23:00:00.000Z")  # 06:00 in Vietnam
    assert body["alarms"]["total"] == 2
    assert body["alarms"]["by_severity"] == {"critical": 1, "major": 0, "minor": 1, "warning": 0}
    assert [a["alarm_id"] for a in body["alarms"]["recent"]] == ["a2", "a1"]
    assert body["sync"] == {"available": True, "backlog_up": 23, "backlog_down": 3, "lag_seconds": 7530,
                            "paused": ["devices", "courses"],
                            "link": {"state": "disconnected", "hub": "tinh-ninhbinh.example.vn:443",
                                     "last_contact": "2026-03-14T01:20:00.000Z",
                                     "last_error": "UNAVAILABLE: failed to connect to all addresses"}}
    assert [p["id"] for p in body["publications"]["items"]] == ["tin-tiem-chung", "thong-bao-nuoc"]
    assert [a["id"] for a in body["activity"]["items"]] == ["e1"]


def test_a_panel_whose_service_does_not_answer_is_unavailable(stand, web_session, people, sign_in):
    stand.telemetry.list_devices.side_effect = ServiceUnavailable("…")
    stand.content.recent_publications.side_effect = ServiceUnavailable("…")
    sign_in(people["viewer"])
    response = web_session.get("/api/home")
    assert response.status_code == 200
    body = response.json()
    assert body["devices"] == {"available": False} and body["publications"] == {"available": False}
    assert body["alarms"]["available"] is True and body["sync"]["available"] is True


def test_only_the_callers_commune(stand, web_session, people, sign_in):
    sign_in(people["other_admin"])
    assert web_session.get("/api/home").json()["commune_id"] == "yen-thang"
    assert set(stand.communes_asked().values()) == {"yen-thang"}
    refused = web_session.get("/api/home", params={"commune_id": "xuan-hung"})
    assert refused.status_code == 403 and refused.json()["error"] == "FORBIDDEN"


def test_a_district_administrator_names_the_commune(stand, web_session, people, sign_in):
    sign_in(people["district"])
    assert web_session.get("/api/home").status_code == 403
    assert web_session.get("/api/home", params={"commune_id": "yen-thang"}).json()["commune_id"] == "yen-thang"
    assert set(stand.communes_asked().values()) == {"yen-thang"}
    assert web_session.get("/api/home", params={"commune_id": "no-such"}).status_code == 404


def test_signed_out_is_401(stand, web_session):
    response = web_session.get("/api/home")
    assert response.status_code == 401 and response.json()["error"] == "UNAUTHENTICATED"
    stand.tasks.list_plans.assert_not_called()


def test_the_route_is_in_the_openapi_document_with_its_query_and_panels():
    operation = DOCUMENT["paths"]["/api/home"]["get"]
    names = {field.data_key or name for name, field in schemas.CommuneQuerySchema().fields.items()}
    assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} == names
    assert {"200", "401", "403"} <= set(operation["responses"])
    dashboard = DOCUMENT["components"]["schemas"]["HomeDashboard"]
    assert set(dashboard["properties"]) == {"commune_id", "date", "generated_at", *PANELS}
    assert all(dashboard["properties"][name]["required"] == ["available"] for name in PANELS)
    assert {"name": "home"} in DOCUMENT["tags"] and operation["tags"] == ["home"]


@pytest.mark.parametrize("panel", PANELS)
def test_every_panel_of_the_json_is_documented_field_by_field(stand, web_session, people, sign_in, panel):
    sign_in(people["viewer"])
    body = web_session.get("/api/home").json()
    documented = DOCUMENT["components"]["schemas"]["HomeDashboard"]["properties"][panel]["properties"]
    assert set(body[panel]) == set(documented)
