"""The pulled files must parse with the same connectors that read manual exports."""

from __future__ import annotations

from datetime import UTC, date, datetime

from licpipe.connectors import m365, okta
from licpipe.pull import GraphReportsClient, OktaClient
from tests.pull.local_server import Reply

TENANT = "contoso.onmicrosoft.com"


def test_json_report_parses_with_connector(server, fake_sleep, tmp_path):
    server.route(
        "POST",
        f"/{TENANT}/oauth2/v2.0/token",
        Reply.json({"access_token": "graph-token", "expires_in": 3599}),
    )
    record = {
        "reportRefreshDate": "2024-05-18",
        "userPrincipalName": "a@example.com",
        "lastActivationDate": "2024-04-02",
        "lastActivityDate": "2024-05-17",
        "details": [{"reportPeriod": 30, "windows": True, "mac": False, "teamsWeb": True}],
    }
    server.route(
        "GET",
        "/v1.0/reports/getM365AppUserDetail(period='D30')",
        Reply.json({"value": [record]}),
    )
    client = GraphReportsClient(
        TENANT,
        "client-app-id",
        "client-secret",
        authority=server.url,
        graph_base=f"{server.url}/v1.0",
        sleep=fake_sleep,
        today=lambda: date(2024, 5, 20),
    )

    path = client.fetch_json_report("getM365AppUserDetail", period="D30", dest_dir=tmp_path)
    parsed = m365.parse_file(path)

    assert m365.detect(path, path.read_text(encoding="utf-8")[:4096])
    assert parsed.rejects == []
    (row,) = parsed.tables["m365_app_user_detail"]
    assert row["user_principal_name"] == "a@example.com"
    assert row["report_period"] == 30
    assert row["windows"] is True
    assert row["mac"] is False
    assert row["last_activity_date"] == date(2024, 5, 17)


def test_okta_files_parse_with_connector(server, fake_sleep, tmp_path):
    user = {
        "id": "00u9",
        "status": "DEPROVISIONED",
        "created": "2023-01-10T08:00:00.000Z",
        "activated": "2023-01-10T08:05:00.000Z",
        "statusChanged": "2024-02-01T10:00:00.000Z",
        "lastLogin": None,
        "profile": {"login": "z@example.com", "email": "z@example.com"},
    }
    event = {
        "uuid": "e1",
        "published": "2024-05-01T09:00:00.000Z",
        "eventType": "user.authentication.sso",
        "actor": {"id": "00u9", "alternateId": "z@example.com"},
        "outcome": {"result": "SUCCESS"},
        "target": [{"id": "0oa1", "type": "AppInstance", "displayName": "Adobe Creative Cloud"}],
    }
    server.route("GET", "/api/v1/users", Reply.json([user]))
    server.route("GET", "/api/v1/logs", Reply.json([event]))
    client = OktaClient(server.url, "okta-token", sleep=fake_sleep)

    users_path = client.list_users(tmp_path)
    log_path = client.pull_system_log(
        tmp_path, datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC)
    )
    users = okta.parse_file(users_path)
    events = okta.parse_file(log_path)

    assert users.rejects == []
    assert {row["status"] for row in users.tables["okta_users"]} == {"DEPROVISIONED"}
    assert events.rejects == []
    (event_row,) = events.tables["okta_events"]
    assert event_row["uuid"] == "e1"
    assert event_row["app_display_name"] == "Adobe Creative Cloud"
