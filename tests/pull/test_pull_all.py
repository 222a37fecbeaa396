from __future__ import annotations

import logging
from datetime import date

import pytest

from licpipe.pull import PullError, pull_all
from licpipe.pull.graph_reports import (
    ENV_AUTHORITY,
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ENV_GRAPH_BASE,
    ENV_TENANT_ID,
)
from licpipe.pull.okta_api import ENV_API_TOKEN, ENV_ORG_URL
from tests.pull.local_server import Reply

TODAY = date(2024, 5, 20)
TENANT = "contoso.onmicrosoft.com"
CSV_BODY = b"\xef\xbb\xbfReport Refresh Date,User Principal Name\r\n2024-05-18,a@example.com\r\n"


def configure_okta(monkeypatch, server) -> None:
    monkeypatch.setenv(ENV_ORG_URL, server.url)
    monkeypatch.setenv(ENV_API_TOKEN, "okta-token")
    server.route("GET", "/api/v1/users", Reply.json([]))
    events = [{"uuid": "e1", "eventType": "user.session.start"}]
    server.route("GET", "/api/v1/logs", Reply.json(events))


def configure_graph(monkeypatch, server) -> None:
    monkeypatch.setenv(ENV_TENANT_ID, TENANT)
    monkeypatch.setenv(ENV_CLIENT_ID, "client-app-id")
    monkeypatch.setenv(ENV_CLIENT_SECRET, "client-secret")
    monkeypatch.setenv(ENV_AUTHORITY, server.url)
    monkeypatch.setenv(ENV_GRAPH_BASE, f"{server.url}/v1.0")
    server.route(
        "POST",
        f"/{TENANT}/oauth2/v2.0/token",
        Reply.json({"access_token": "graph-token", "expires_in": 3599}),
    )
    server.route("GET", "/v1.0/admin/reportSettings", Reply.json({"error": {}}, 403))
    server.route("GET", "/download", Reply(200, CSV_BODY))

    def report(request):
        assert request.path.startswith("/v1.0/reports/get")
        return Reply(302, b"", {"Location": f"{server.url}/download?sig=x"})

    server.route("GET", "*", report)


def test_pull_all_skips_unconfigured(tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        written = pull_all(tmp_path, today=TODAY)

    assert written == []
    assert "skipping Microsoft Graph" in caplog.text
    assert "skipping Okta" in caplog.text


def test_pull_all_okta_incremental_log(monkeypatch, server, tmp_path):
    configure_okta(monkeypatch, server)

    written = pull_all(tmp_path, today=TODAY)

    okta = tmp_path / "okta"
    assert written == [
        okta / "users.csv",
        okta / "system_log_20240513T000000Z_20240520T000000Z.ndjson",
    ]
    assert written[1].read_text(encoding="utf-8").count("\n") == 1

    # The next run on the same day finds the log already pulled up to today.
    assert pull_all(tmp_path, today=TODAY) == [okta / "users.csv"]
    later = pull_all(tmp_path, today=date(2024, 5, 21))
    assert later[1].name == "system_log_20240520T000000Z_20240521T000000Z.ndjson"


def test_pull_all_okta_no_events(monkeypatch, server, tmp_path):
    configure_okta(monkeypatch, server)
    server.route("GET", "/api/v1/logs", Reply.json([]))

    written = pull_all(tmp_path, today=TODAY)

    assert written == [tmp_path / "okta" / "users.csv"]
    assert list((tmp_path / "okta").glob("*.ndjson")) == []


def test_pull_all_okta_capped_at_retention(monkeypatch, server, tmp_path):
    configure_okta(monkeypatch, server)
    okta = tmp_path / "okta"
    okta.mkdir()
    (okta / "system_log_20231201T000000Z_20231202T000000Z.ndjson").write_text("{}\n")

    pull_all(tmp_path, today=TODAY)

    (first,) = [r for r in server.requests_to("/api/v1/logs")]
    assert first.query["since"] == ["2024-02-20T00:00:00.000Z"]


def test_pull_all_graph_backfills_days(monkeypatch, server, tmp_path, caplog):
    configure_graph(monkeypatch, server)
    m365 = tmp_path / "m365"
    m365.mkdir()
    existing = m365 / "Office365ActiveUserDetail_2024-05-10.csv"
    existing.write_bytes(b"already pulled")

    with caplog.at_level(logging.WARNING):
        written = pull_all(tmp_path, today=TODAY)

    names = sorted(path.name for path in written)
    daily = [name for name in names if name.startswith("Office365ActiveUserDetail_")]
    assert len(daily) == 25
    assert daily[0] == "Office365ActiveUserDetail_2024-04-23.csv"
    assert daily[-1] == "Office365ActiveUserDetail_2024-05-18.csv"
    assert "Office365ActiveUserDetail_2024-05-10.csv" not in daily
    assert existing.read_bytes() == b"already pulled"
    assert "Office365ActiveUserCounts_D180.csv" in names
    assert "M365AppUserDetail_D30.csv" in names
    assert "TeamsUserActivityUserDetail_D30.csv" in names
    assert "Office365ActivationsUserDetail.csv" in names
    assert "ReportSettings.Read.All" in caplog.text


def test_pull_all_partial_settings_fail(monkeypatch, server, tmp_path):
    configure_okta(monkeypatch, server)
    monkeypatch.setenv(ENV_TENANT_ID, TENANT)

    with pytest.raises(PullError) as caught:
        pull_all(tmp_path, today=TODAY)

    assert ENV_CLIENT_ID in str(caught.value)
    assert "Microsoft Graph" in str(caught.value)
    # Okta still ran.
    assert (tmp_path / "okta" / "users.csv").exists()
