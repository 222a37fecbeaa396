from __future__ import annotations

import csv
import json
import logging
import socket
from datetime import UTC, datetime

import pytest

from licpipe.pull.http import MissingSettingError, PullError
from licpipe.pull.okta_api import (
    DEPROVISIONED,
    ENV_API_TOKEN,
    ENV_ORG_URL,
    LIVE_STATUSES,
    USER_COLUMNS,
    OktaClient,
)
from tests.pull.local_server import Reply

API_TOKEN = "00aBcD-okta-token-never-to-be-seen"
SINCE = datetime(2024, 5, 1, tzinfo=UTC)
UNTIL = datetime(2024, 5, 2, tzinfo=UTC)


def okta_user(user_id: str, login: str, status: str, last_login: str | None = None) -> dict:
    return {
        "id": user_id,
        "status": status,
        "created": "2023-01-10T08:00:00.000Z",
        "activated": None if status == "STAGED" else "2023-01-10T08:05:00.000Z",
        "statusChanged": "2024-02-01T10:00:00.000Z",
        "lastLogin": last_login,
        "profile": {"login": login, "email": login, "firstName": "Ann"},
    }


def live_or_deprovisioned(request) -> str:
    (search,) = request.query["search"]
    return "deprovisioned" if search == f'status eq "{DEPROVISIONED}"' else "live"


def make_client(server, fake_sleep, **options) -> OktaClient:
    return OktaClient(server.url, API_TOKEN, sleep=fake_sleep, **options)


def read_users(path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def serve_users(server, deprovisioned: Reply) -> None:
    """Serve two pages of live users and one DEPROVISIONED page (or the given failure)."""
    next_link = f'<{server.url}/api/v1/users?after=00u2&limit=200>; rel="next"'
    self_link = f'<{server.url}/api/v1/users?limit=200>; rel="self"'

    def users(request):
        if "after" in request.query:
            return Reply.json([okta_user("00u3", "c@example.com", "SUSPENDED")])
        if live_or_deprovisioned(request) == "deprovisioned":
            return deprovisioned
        return Reply.json(
            [
                okta_user("00u1", "a@example.com", "ACTIVE", "2024-05-01T09:00:00.000Z"),
                okta_user("00u2", "b@example.com", "STAGED"),
            ],
            Link=f"{self_link}, {next_link}",
        )

    server.route("GET", "/api/v1/users", users)


def test_users_request_deprovisioned_filter(server, fake_sleep, tmp_path):
    serve_users(server, Reply.json([okta_user("00u9", "z@example.com", DEPROVISIONED)]))

    make_client(server, fake_sleep).list_users(tmp_path)

    searches = [
        r.query["search"][0] for r in server.requests_to("/api/v1/users") if "search" in r.query
    ]
    assert f'status eq "{DEPROVISIONED}"' in searches
    requested = " ".join(searches)
    for status in LIVE_STATUSES:
        assert f'status eq "{status}"' in requested
    for request in server.requests_to("/api/v1/users"):
        assert request.headers["Authorization"] == f"SSWS {API_TOKEN}"


def test_users_follow_link_pagination(server, fake_sleep, tmp_path):
    serve_users(server, Reply.json([okta_user("00u9", "z@example.com", DEPROVISIONED)]))

    path = make_client(server, fake_sleep).list_users(tmp_path)

    assert path == tmp_path / "users.csv"
    rows = read_users(path)
    assert list(rows[0]) == list(USER_COLUMNS)
    assert [row["id"] for row in rows] == ["00u1", "00u2", "00u3", "00u9"]
    assert [row["status"] for row in rows] == ["ACTIVE", "STAGED", "SUSPENDED", DEPROVISIONED]
    assert rows[0]["lastLogin"] == "2024-05-01T09:00:00.000Z"
    assert rows[1]["activated"] == ""
    assert rows[3]["login"] == "z@example.com"
    (after_request,) = [r for r in server.requests_to("/api/v1/users") if "after" in r.query]
    assert after_request.query["after"] == ["00u2"]
    assert not (tmp_path / "users.partial.json").exists()


def test_deprovisioned_403_marks_partial(server, fake_sleep, tmp_path, caplog):
    serve_users(
        server,
        Reply.json({"errorCode": "E0000006", "errorSummary": "You do not have permission"}, 403),
    )

    with caplog.at_level(logging.WARNING):
        path = make_client(server, fake_sleep).list_users(tmp_path)

    assert [row["id"] for row in read_users(path)] == ["00u1", "00u2", "00u3"]
    marker = json.loads((tmp_path / "users.partial.json").read_text())
    assert marker["partial"] is True
    assert marker["missing_statuses"] == [DEPROVISIONED]
    assert "HTTP 403" in marker["reason"]
    assert "without DEPROVISIONED users" in caplog.text

    # A later complete pull removes the stale marker.
    serve_users(server, Reply.json([okta_user("00u9", "z@example.com", DEPROVISIONED)]))
    make_client(server, fake_sleep).list_users(tmp_path)
    assert not (tmp_path / "users.partial.json").exists()


def test_live_users_403_raises(server, fake_sleep, tmp_path):
    server.route("GET", "/api/v1/users", Reply.json({"errorCode": "E0000006"}, 403))

    with pytest.raises(PullError, match="allow reading users"):
        make_client(server, fake_sleep).list_users(tmp_path)
    assert not (tmp_path / "users.csv").exists()


def log_event(uuid: str, published: str) -> dict:
    return {
        "uuid": uuid,
        "published": published,
        "eventType": "user.authentication.sso",
        "actor": {"alternateId": "a@example.com", "displayName": "José Galera"},
        "client": {"zone": "null"},
        "target": [{"type": "AppInstance", "displayName": "Adobe Creative Cloud"}],
    }


def test_system_log_pages_and_rate_limit(server, fake_sleep, tmp_path):
    now = 1_714_600_000.0
    next_link = f'<{server.url}/api/v1/logs?after=cursor2>; rel="next"'
    page_one = Reply.json(
        [log_event("e1", "2024-05-01T09:00:00.000Z"), log_event("e2", "2024-05-01T10:00:00.000Z")],
        Link=next_link,
    )
    throttled = Reply.json(
        {"errorCode": "E0000047"}, 429, **{"X-Rate-Limit-Reset": str(int(now) + 5)}
    )
    page_two = Reply.json(
        [log_event("e2", "2024-05-01T10:00:00.000Z"), log_event("e3", "2024-05-01T11:00:00.000Z")],
        Link=f'<{server.url}/api/v1/logs?after=cursor3>; rel="next"',
    )
    last_page = Reply.json([], Link=f'<{server.url}/api/v1/logs?after=cursor3>; rel="next"')
    replies = {"": [page_one], "cursor2": [throttled, page_two], "cursor3": [last_page]}

    def logs(request):
        cursor = request.query.get("after", [""])[0]
        queue = replies[cursor]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    server.route("GET", "/api/v1/logs", logs)

    path = make_client(server, fake_sleep, clock=lambda: now).pull_system_log(
        tmp_path, SINCE, UNTIL
    )

    assert path.name == "system_log_20240501T000000Z_20240502T000000Z.ndjson"
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [event["uuid"] for event in events] == ["e1", "e2", "e3"]
    assert events[2]["actor"]["displayName"] == "José Galera"
    assert fake_sleep.waits == [6.0]
    first = server.requests_to("/api/v1/logs")[0]
    assert first.query["since"] == ["2024-05-01T00:00:00.000Z"]
    assert first.query["until"] == ["2024-05-02T00:00:00.000Z"]
    assert first.query["limit"] == ["1000"]
    # The empty page ends the walk although it offers a next link.
    assert len(server.requests_to("/api/v1/logs")) == 4


def test_system_log_naive_time_rejected(server, fake_sleep, tmp_path):
    with pytest.raises(ValueError, match="no time zone"):
        make_client(server, fake_sleep).pull_system_log(tmp_path, datetime(2024, 5, 1), UNTIL)
    with pytest.raises(ValueError, match="is not before"):
        make_client(server, fake_sleep).pull_system_log(tmp_path, UNTIL, SINCE)


def test_next_link_other_origin_rejected(server, fake_sleep, tmp_path):
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        other = f"http://127.0.0.1:{spare.getsockname()[1]}"
    server.route(
        "GET",
        "/api/v1/logs",
        Reply.json(
            [log_event("e1", "2024-05-01T09:00:00.000Z")],
            Link=f'<{other}/api/v1/logs?after=x>; rel="next"',
        ),
    )

    with pytest.raises(PullError, match="outside"):
        make_client(server, fake_sleep).pull_system_log(tmp_path, SINCE, UNTIL)
    assert len(server.requests_to("/api/v1/logs")) == 1


def test_token_absent_from_logs_and_errors(server, fake_sleep, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    serve_users(server, Reply.json({"errorCode": "E0000006"}, 403))
    client = make_client(server, fake_sleep)
    client.list_users(tmp_path)
    server.route("GET", "/api/v1/logs", Reply.json({"errorCode": "E0000011"}, 401))

    with pytest.raises(PullError) as caught:
        client.pull_system_log(tmp_path, SINCE, UNTIL)

    assert "HTTP 401" in str(caught.value)
    for text in (caplog.text, str(caught.value), repr(client)):
        assert API_TOKEN not in text
    assert API_TOKEN not in (tmp_path / "users.partial.json").read_text()


def test_from_env_names_missing_variable(monkeypatch, server):
    monkeypatch.setenv(ENV_ORG_URL, server.url)

    with pytest.raises(MissingSettingError, match=ENV_API_TOKEN):
        OktaClient.from_env()
