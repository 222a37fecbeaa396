"""Quality alert rows and webhook posts against a local HTTP server."""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from licpipe.checks.alerts import post_webhook, record_alert

ALERT = {
    "alert_id": "0b5c",
    "check_name": "raw_hr_directory.expectations_suite",
    "asset_key": "raw/hr_directory",
    "severity": "ERROR",
    "message": "raw.hr_directory failed 1 of 7 expectations on 3 rows.",
    "failed_count": 1,
}
SECRET_PATH = "/services/T000/B000/secret-token"


@pytest.fixture
def webhook_server():
    """Start a server on 127.0.0.1 that returns the queued status codes, then 200."""
    statuses: list[int] = []
    bodies: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(statuses.pop(0) if statuses else 200)
            self.end_headers()

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}{SECRET_PATH}"
    yield url, statuses, bodies
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_record_alert_writes_row(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))

    alert_id = record_alert(
        con,
        check_name="raw_hr_directory.expectations_suite",
        asset_key="raw/hr_directory",
        severity="ERROR",
        message="raw.hr_directory failed 1 of 7 expectations on 3 rows.",
        failed_count=1,
        examples=[{"expectation": "expect_column_values_to_not_be_null(email)"}],
    )
    second_id = record_alert(
        con,
        check_name="c",
        asset_key="a",
        severity="WARN",
        message="m",
        failed_count=0,
        examples="[]",
    )

    rows = con.execute(
        "select alert_id, check_name, asset_key, severity, failed_count, examples, raised_at "
        "from analytics.quality_alerts order by severity"
    ).fetchall()
    assert len(rows) == 2
    assert second_id != alert_id
    assert rows[0][:5] == (
        alert_id,
        "raw_hr_directory.expectations_suite",
        "raw/hr_directory",
        "ERROR",
        1,
    )
    assert json.loads(rows[0][5]) == [{"expectation": "expect_column_values_to_not_be_null(email)"}]
    assert rows[0][6] is not None
    con.close()


def test_webhook_retries_after_500(webhook_server, caplog):
    url, statuses, bodies = webhook_server
    statuses.append(500)

    with caplog.at_level(logging.INFO, logger="licpipe.checks.alerts"):
        posted = post_webhook(url, ALERT, backoff_seconds=0.01)

    assert posted is True
    assert len(bodies) == 2
    assert "raw/hr_directory" in bodies[0]["text"]
    assert ALERT["message"] in bodies[0]["text"]
    assert bodies[0]["blocks"][0]["type"] == "header"
    assert "secret-token" not in caplog.text
    assert "127.0.0.1" in caplog.text


def test_webhook_gives_up_after_retries(webhook_server, caplog):
    url, statuses, bodies = webhook_server
    statuses.extend([500, 502, 503, 500])

    with caplog.at_level(logging.INFO, logger="licpipe.checks.alerts"):
        posted = post_webhook(url, ALERT, retries=2, backoff_seconds=0.01)

    assert posted is False
    assert len(bodies) == 3
    assert "failed after 3 attempt(s): HTTP 503" in caplog.text
    assert "secret-token" not in caplog.text


def test_webhook_does_not_retry_4xx(webhook_server):
    url, statuses, bodies = webhook_server
    statuses.append(404)

    assert post_webhook(url, ALERT, backoff_seconds=0.01) is False
    assert len(bodies) == 1


def test_webhook_unreachable_returns_false(caplog):
    # A port just released by a bound socket has no listener, so the connection is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}{SECRET_PATH}"

    with caplog.at_level(logging.INFO, logger="licpipe.checks.alerts"):
        posted = post_webhook(url, ALERT, timeout=1.0, retries=1, backoff_seconds=0.01)

    assert posted is False
    assert "secret-token" not in caplog.text
