from __future__ import annotations

import csv
import io
import logging
import socket
from datetime import UTC, date, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
import requests

from licpipe.pull.graph_reports import (
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ENV_TENANT_ID,
    GraphReportsClient,
)
from licpipe.pull.http import MissingSettingError, PullError, parse_retry_after
from licpipe.pull.report_columns import REPORTS
from tests.pull.local_server import Reply

FIXTURES = Path(__file__).parent.parent / "fixtures" / "pull"
TENANT = "11111111-2222-3333-4444-555555555555"
SECRET = "s3cr3t-Value~never-to-be-seen"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOi.token-value-never-to-be-seen"
TODAY = date(2024, 5, 20)
TOKEN_PATH = f"/{TENANT}/oauth2/v2.0/token"
ACTIVE_D7 = "/v1.0/reports/getOffice365ActiveUserDetail(period='D7')"
TEAMS_D7 = "/v1.0/reports/getTeamsUserActivityUserDetail(period='D7')"
APPS_D7 = "/v1.0/reports/getM365AppUserDetail(period='D7')"

BOM = b"\xef\xbb\xbf"
TEAMS_CSV = BOM + (FIXTURES / "teams_user_activity_user_detail_concealed.csv").read_bytes()
ACTIVE_CSV = (
    BOM
    + (
        ",".join(REPORTS["getOffice365ActiveUserDetail"].headers)
        + "\r\n2024-05-18,user1@example.com,User One,False,,True,True,True,False,False,True,"
        "2024-05-17,,,,,2024-05-16,2023-01-01,2023-01-01,2023-01-01,,,2023-01-01,"
        "MICROSOFT 365 E3+MICROSOFT TEAMS EXPLORATORY\r\n"
    ).encode()
)


def token_reply(expires_in: int = 3599) -> Reply:
    return Reply.json({"token_type": "Bearer", "expires_in": expires_in, "access_token": TOKEN})


def make_client(server, fake_sleep, **options) -> GraphReportsClient:
    return GraphReportsClient(
        TENANT,
        "client-app-id",
        SECRET,
        authority=server.url,
        graph_base=f"{server.url}/v1.0",
        sleep=fake_sleep,
        today=lambda: TODAY,
        **options,
    )


def serve_download(server, report_path: str, body: bytes) -> None:
    """Route `report_path` to a 302 whose Location is a signed download URL on the server."""
    server.route(
        "GET",
        report_path,
        Reply(302, b"", {"Location": f"{server.url}/data/download/abc?sig=SIGNATURE"}),
    )
    server.route(
        "GET",
        "/data/download/abc",
        Reply(200, body, {"Content-Type": "application/octet-stream"}),
    )


def test_token_request_form(server, fake_sleep, tmp_path):
    server.route("POST", TOKEN_PATH, token_reply())
    serve_download(server, ACTIVE_D7, ACTIVE_CSV)

    make_client(server, fake_sleep).download_report(
        "getOffice365ActiveUserDetail", period="D7", dest_dir=tmp_path
    )

    (token_request,) = server.requests_to(TOKEN_PATH)
    form = token_request.form()
    assert form["grant_type"] == "client_credentials"
    assert form["client_id"] == "client-app-id"
    assert form["client_secret"] == SECRET
    assert form["scope"] == "https://graph.microsoft.com/.default"
    (report_request,) = server.requests_to(ACTIVE_D7)
    assert report_request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_token_cached_until_near_expiry(server, fake_sleep, tmp_path):
    server.route("POST", TOKEN_PATH, token_reply(expires_in=3600))
    serve_download(server, ACTIVE_D7, ACTIVE_CSV)
    now = [1000.0]
    client = make_client(server, fake_sleep, monotonic=lambda: now[0])

    client.download_report("getOffice365ActiveUserDetail", period="D7", dest_dir=tmp_path)
    now[0] += 3000.0
    client.download_report("getOffice365ActiveUserDetail", period="D7", dest_dir=tmp_path)
    assert len(server.requests_to(TOKEN_PATH)) == 1

    # Within five minutes of expiry the client asks for a new token.
    now[0] += 400.0
    client.download_report("getOffice365ActiveUserDetail", period="D7", dest_dir=tmp_path)
    assert len(server.requests_to(TOKEN_PATH)) == 2
    assert len(server.requests_to(ACTIVE_D7)) == 3


def test_redirect_download_without_authorization(server, fake_sleep, tmp_path):
    server.route("POST", TOKEN_PATH, token_reply())
    serve_download(server, TEAMS_D7, TEAMS_CSV)

    path = make_client(server, fake_sleep).download_report(
        "getTeamsUserActivityUserDetail", period="D7", dest_dir=tmp_path / "m365"
    )

    assert path == tmp_path / "m365" / "TeamsUserActivityUserDetail_D7.csv"
    assert path.read_bytes() == TEAMS_CSV
    assert path.read_bytes().startswith(BOM)
    (download,) = server.requests_to("/data/download/abc")
    assert "Authorization" not in download.headers
    assert download.query == {"sig": ["SIGNATURE"]}
    assert list((tmp_path / "m365").iterdir()) == [path]


def test_date_report_file_name(server, fake_sleep, tmp_path):
    server.route("POST", TOKEN_PATH, token_reply())
    serve_download(
        server, "/v1.0/reports/getOffice365ActiveUserDetail(date=2024-05-18)", ACTIVE_CSV
    )

    path = make_client(server, fake_sleep).download_report(
        "getOffice365ActiveUserDetail", date=date(2024, 5, 18), dest_dir=tmp_path
    )

    assert path.name == "Office365ActiveUserDetail_2024-05-18.csv"
    assert path.read_bytes() == ACTIVE_CSV


def test_activations_report_has_no_parameters(server, fake_sleep, tmp_path):
    server.route("POST", TOKEN_PATH, token_reply())
    body = BOM + b"Report Refresh Date,User Principal Name,Display Name,Product Type\r\n"
    serve_download(server, "/v1.0/reports/getOffice365ActivationsUserDetail", body)

    path = make_client(server, fake_sleep).download_report(
        "getOffice365ActivationsUserDetail", dest_dir=tmp_path
    )

    assert path.name == "Office365ActivationsUserDetail.csv"


def test_download_not_csv_writes_nothing(server, fake_sleep, tmp_path):
    server.route("POST", TOKEN_PATH, token_reply())
    serve_download(server, ACTIVE_D7, b"<html>Session expired</html>")

    with pytest.raises(PullError, match="not a report CSV"):
        make_client(server, fake_sleep).download_report(
            "getOffice365ActiveUserDetail", period="D7", dest_dir=tmp_path
        )
    assert list(tmp_path.iterdir()) == []


def apps_record(upn: str, windows: bool) -> dict:
    return {
        "reportRefreshDate": "2024-05-18",
        "userPrincipalName": upn,
        "lastActivationDate": "2024-04-02",
        "lastActivityDate": "2024-05-17",
        "details": [
            {
                "reportPeriod": 7,
                "windows": windows,
                "mac": False,
                "mobile": True,
                "web": False,
                "outlook": True,
                "outlookWindows": windows,
                "teamsWeb": None,
            }
        ],
    }


def test_json_report_follows_three_pages(server, fake_sleep, tmp_path):
    server.route("POST", TOKEN_PATH, token_reply())
    page_url = f"{server.url}/v1.0/page"
    server.route(
        "GET",
        APPS_D7,
        Reply.json(
            {
                "@odata.nextLink": f"{page_url}?$skiptoken=2",
                "value": [apps_record("a@example.com", True), apps_record("b@example.com", False)],
            }
        ),
    )

    def later_pages(request):
        if request.query["$skiptoken"] == ["2"]:
            return Reply.json(
                {
                    "@odata.nextLink": f"{page_url}?$skiptoken=3",
                    "value": [apps_record("c@example.com", True)],
                }
            )
        return Reply.json({"value": [apps_record("d@example.com", False)]})

    server.route("GET", "/v1.0/page", later_pages)

    path = make_client(server, fake_sleep).fetch_json_report(
        "getM365AppUserDetail", period="D7", dest_dir=tmp_path
    )

    (first,) = server.requests_to(APPS_D7)
    assert first.query["$format"] == ["application/json"]
    assert len(server.requests_to("/v1.0/page")) == 2
    for request in server.requests_to("/v1.0/page"):
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"

    raw = path.read_bytes()
    assert path.name == "M365AppUserDetail_D7.csv"
    assert raw.startswith(BOM)
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0]) == list(REPORTS["getM365AppUserDetail"].headers)
    assert [row["User Principal Name"] for row in rows] == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
    ]
    assert rows[0]["Report Period"] == "7"
    assert rows[0]["Windows"] == "Yes"
    assert rows[1]["Windows"] == "No"
    assert rows[0]["Outlook (Windows)"] == "Yes"
    assert rows[0]["Teams (Web)"] == ""
    assert rows[0]["Last Activation Date"] == "2024-04-02"


def test_json_report_lists_and_booleans(server, fake_sleep, tmp_path):
    server.route("POST", TOKEN_PATH, token_reply())
    record = {
        "reportRefreshDate": "2024-05-18",
        "userPrincipalName": "a@example.com",
        "isDeleted": False,
        "deletedDate": None,
        "hasOneDriveLicense": True,
        "skypeForBusinessLastActivityDate": "2024-05-01",
        "assignedProducts": ["MICROSOFT 365 E3", "POWER BI (FREE)"],
    }
    server.route("GET", ACTIVE_D7, Reply.json({"value": [record]}))

    path = make_client(server, fake_sleep).fetch_json_report(
        "getOffice365ActiveUserDetail", period="D7", dest_dir=tmp_path
    )

    (row,) = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    assert row["Is Deleted"] == "False"
    assert row["Deleted Date"] == ""
    assert row["Has OneDrive License"] == "True"
    assert row["Skype For Business Last Activity Date"] == "2024-05-01"
    assert row["Assigned Products"] == "MICROSOFT 365 E3+POWER BI (FREE)"


def test_json_next_link_other_origin_rejected(server, fake_sleep, tmp_path):
    server.route("POST", TOKEN_PATH, token_reply())
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        other_port = spare.getsockname()[1]
    server.route(
        "GET",
        APPS_D7,
        Reply.json({"@odata.nextLink": f"http://127.0.0.1:{other_port}/v1.0/x", "value": []}),
    )

    with pytest.raises(PullError, match="outside"):
        make_client(server, fake_sleep).fetch_json_report(
            "getM365AppUserDetail", period="D7", dest_dir=tmp_path
        )


def test_429_honours_retry_after(server, fake_sleep, tmp_path):
    server.route("POST", TOKEN_PATH, token_reply())
    server.route(
        "GET",
        ACTIVE_D7,
        Reply(429, b"", {"Retry-After": "1"}),
        Reply(302, b"", {"Location": f"{server.url}/data/download/abc"}),
    )
    server.route("GET", "/data/download/abc", Reply(200, ACTIVE_CSV))

    path = make_client(server, fake_sleep).download_report(
        "getOffice365ActiveUserDetail", period="D7", dest_dir=tmp_path
    )

    assert fake_sleep.waits == [1.0]
    assert len(server.requests_to(ACTIVE_D7)) == 2
    assert path.read_bytes() == ACTIVE_CSV


def test_retry_after_http_date():
    now = datetime(2024, 5, 20, 12, 0, 0, tzinfo=UTC)
    response = requests.Response()
    response.headers["Retry-After"] = format_datetime(
        datetime(2024, 5, 20, 12, 0, 7, tzinfo=UTC), usegmt=True
    )

    assert parse_retry_after(response, now.timestamp()) == pytest.approx(7.0)
    response.headers["Retry-After"] = "Mon, 20 May 2024 11:00:00 GMT"
    assert parse_retry_after(response, now.timestamp()) == 0.0
    response.headers["Retry-After"] = "soon"
    assert parse_retry_after(response, now.timestamp()) is None


def test_503_twice_then_success(server, fake_sleep, tmp_path):
    server.route("POST", TOKEN_PATH, token_reply())
    server.route(
        "GET",
        ACTIVE_D7,
        Reply(503),
        Reply(503),
        Reply(302, b"", {"Location": f"{server.url}/data/download/abc"}),
    )
    server.route("GET", "/data/download/abc", Reply(200, ACTIVE_CSV))

    make_client(server, fake_sleep).download_report(
        "getOffice365ActiveUserDetail", period="D7", dest_dir=tmp_path
    )

    assert fake_sleep.waits == [1.0, 2.0]
    assert len(server.requests_to(ACTIVE_D7)) == 3


def test_exhausted_retries_raise(server, fake_sleep, tmp_path):
    server.route("POST", TOKEN_PATH, token_reply())
    server.route("GET", ACTIVE_D7, Reply(502))

    with pytest.raises(PullError) as caught:
        make_client(server, fake_sleep, max_retries=3).download_report(
            "getOffice365ActiveUserDetail", period="D7", dest_dir=tmp_path
        )

    message = str(caught.value)
    assert "getOffice365ActiveUserDetail" in message
    assert "HTTP 502" in message
    assert "try again later" in message
    assert len(server.requests_to(ACTIVE_D7)) == 4
    assert fake_sleep.waits == [1.0, 2.0, 4.0]
    assert list(tmp_path.iterdir()) == []


def test_connection_refused_retried_then_raises(fake_sleep, tmp_path):
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{spare.getsockname()[1]}"
    client = GraphReportsClient(
        TENANT, "client-app-id", SECRET, authority=closed, max_retries=2, sleep=fake_sleep
    )

    with pytest.raises(PullError, match="failed after 3 attempts: ConnectionError"):
        client.download_report("getOffice365ActiveUserDetail", period="D7", dest_dir=tmp_path)
    assert fake_sleep.waits == [1.0, 2.0]


@pytest.mark.parametrize(
    ("status", "code"), [(403, "Forbidden"), (401, "InvalidAuthenticationToken")]
)
def test_denied_names_reports_permission(server, fake_sleep, tmp_path, status, code):
    server.route("POST", TOKEN_PATH, token_reply())
    server.route(
        "GET",
        ACTIVE_D7,
        Reply.json({"error": {"code": code, "message": "Access denied"}}, status),
    )

    with pytest.raises(PullError) as caught:
        make_client(server, fake_sleep).download_report(
            "getOffice365ActiveUserDetail", period="D7", dest_dir=tmp_path
        )

    message = str(caught.value)
    assert "Reports.Read.All" in message
    assert "admin consent" in message
    assert f"HTTP {status}" in message
    assert code in message
    assert (ENV_TENANT_ID in message) is (status == 401)
    assert fake_sleep.waits == []
    assert list(tmp_path.iterdir()) == []


def test_403_report_settings_permission(server, fake_sleep):
    server.route("POST", TOKEN_PATH, token_reply())
    server.route("GET", "/v1.0/admin/reportSettings", Reply.json({"error": {}}, 403))

    with pytest.raises(PullError, match="ReportSettings.Read.All"):
        make_client(server, fake_sleep).fetch_display_concealed_names()


def test_concealed_names_setting_read(server, fake_sleep):
    server.route("POST", TOKEN_PATH, token_reply())
    server.route("GET", "/v1.0/admin/reportSettings", Reply.json({"displayConcealedNames": True}))

    assert make_client(server, fake_sleep).fetch_display_concealed_names() is True


def test_secret_absent_from_logs_and_errors(server, fake_sleep, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    server.route("POST", TOKEN_PATH, token_reply())
    serve_download(server, ACTIVE_D7, ACTIVE_CSV)
    server.route("GET", TEAMS_D7, Reply.json({"error": {"code": "Forbidden"}}, 403))
    client = make_client(server, fake_sleep)

    client.download_report("getOffice365ActiveUserDetail", period="D7", dest_dir=tmp_path)
    with pytest.raises(PullError) as denied:
        client.download_report("getTeamsUserActivityUserDetail", period="D7", dest_dir=tmp_path)

    server.route(
        "POST",
        TOKEN_PATH,
        Reply.json(
            {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
            },
            401,
        ),
    )
    with pytest.raises(PullError) as rejected:
        client.download_report("getOffice365ActiveUserDetail", period="D7", dest_dir=tmp_path)

    texts = [caplog.text, str(denied.value), str(rejected.value), repr(client)]
    for text in texts:
        assert SECRET not in text
        assert TOKEN not in text
        assert "SIGNATURE" not in text
    assert "invalid_client AADSTS7000215" in str(rejected.value)


@pytest.mark.parametrize(
    ("report", "options", "message"),
    [
        ("getOffice365ActiveUserDetail", {"period": "D14"}, "period='D14' is invalid"),
        ("getOffice365ActiveUserDetail", {"date": date(2024, 4, 21)}, "outside the 28 days"),
        ("getOffice365ActiveUserDetail", {"date": date(2024, 5, 21)}, "outside the 28 days"),
        ("getOffice365ActiveUserDetail", {}, "needs period or date"),
        (
            "getOffice365ActiveUserDetail",
            {"period": "D7", "date": date(2024, 5, 1)},
            "not both",
        ),
        ("getOffice365ActivationsUserDetail", {"period": "D7"}, "takes no period"),
        ("getOffice365ActiveUserCounts", {"date": date(2024, 5, 1)}, "takes no date"),
        ("getMailboxUsageDetail", {"period": "D7"}, "is not supported"),
    ],
)
def test_invalid_parameters_rejected(fake_sleep, tmp_path, report, options, message):
    client = GraphReportsClient(TENANT, "client-app-id", SECRET, today=lambda: TODAY)

    with pytest.raises(ValueError, match=message):
        client.download_report(report, dest_dir=tmp_path, **options)


def test_oldest_allowed_date_accepted(server, fake_sleep, tmp_path):
    server.route("POST", TOKEN_PATH, token_reply())
    serve_download(
        server, "/v1.0/reports/getOffice365ActiveUserDetail(date=2024-04-22)", ACTIVE_CSV
    )

    path = make_client(server, fake_sleep).download_report(
        "getOffice365ActiveUserDetail", date=date(2024, 4, 22), dest_dir=tmp_path
    )

    assert path.exists()


def test_from_env_names_missing_variable(monkeypatch):
    monkeypatch.setenv(ENV_TENANT_ID, TENANT)
    monkeypatch.setenv(ENV_CLIENT_ID, "client-app-id")

    with pytest.raises(MissingSettingError, match=ENV_CLIENT_SECRET):
        GraphReportsClient.from_env()


def test_plain_http_authority_rejected():
    with pytest.raises(ValueError, match="plain http"):
        GraphReportsClient(TENANT, "id", SECRET, authority="http://login.example.com")
