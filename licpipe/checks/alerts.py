"""Quality alerts: rows in `analytics.quality_alerts` and a Slack-compatible webhook post."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import duckdb

logger = logging.getLogger(__name__)

QUALITY_ALERTS_DDL = """
create table if not exists analytics.quality_alerts (
    alert_id varchar primary key,
    raised_at timestamp,
    check_name varchar,
    asset_key varchar,
    severity varchar,
    message varchar,
    failed_count bigint,
    examples json
)
"""


def ensure_alerts_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create `analytics.quality_alerts` when missing, so it is published even when empty."""
    con.execute("create schema if not exists analytics")
    con.execute(QUALITY_ALERTS_DDL)


def alert_id_for(check_name: str, asset_key: str, message: str, failed_count: int) -> str:
    """A deterministic id: the same failure on the same data is one alert, not one per run."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{check_name}|{asset_key}|{message}|{failed_count}"))


def alert_exists(con: duckdb.DuckDBPyConnection, alert_id: str) -> bool:
    ensure_alerts_table(con)
    found = con.execute(
        "select count(*) from analytics.quality_alerts where alert_id = ?", [alert_id]
    ).fetchall()
    return bool(found[0][0])


def record_alert(
    con: duckdb.DuckDBPyConnection,
    *,
    check_name: str,
    asset_key: str,
    severity: str,
    message: str,
    failed_count: int,
    examples,
) -> str:
    """Insert one row into `analytics.quality_alerts`, creating the table if needed.

    `examples` may be a JSON string or any JSON-serialisable value. `raised_at` is UTC.
    Returns the alert_id. A failure already recorded with the same check, asset, message and
    count is not inserted again, so re-running the same input adds no rows.
    """
    alert_id = alert_id_for(check_name, asset_key, message, failed_count)
    if alert_exists(con, alert_id):
        return alert_id
    if not isinstance(examples, str):
        examples = json.dumps(examples, default=str)
    con.execute(
        "insert into analytics.quality_alerts "
        "(alert_id, raised_at, check_name, asset_key, severity, message, failed_count, examples) "
        "values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            alert_id,
            datetime.now(UTC).replace(tzinfo=None),
            check_name,
            asset_key,
            severity,
            message,
            int(failed_count),
            examples,
        ],
    )
    logger.info("Recorded %s alert %s for %s (%s)", severity, alert_id, asset_key, check_name)
    return alert_id


def slack_payload(alert: dict) -> dict:
    """Build a Slack message: `text` for notifications, `blocks` for the formatted body."""
    severity = alert.get("severity", "ERROR")
    title = f"licpipe quality gate {severity}: {alert.get('asset_key', '?')}"
    fields = [
        f"*check:* {alert.get('check_name', '?')}",
        f"*failed:* {alert.get('failed_count', '?')}",
    ]
    if alert.get("alert_id"):
        fields.append(f"*alert_id:* {alert['alert_id']}")
    return {
        "text": f"{title}: {alert.get('message', '')}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": alert.get("message", "")[:3000]},
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f} for f in fields]},
        ],
    }


def post_webhook(
    url: str,
    alert: dict,
    *,
    timeout: float = 5.0,
    retries: int = 2,
    backoff_seconds: float = 0.5,
) -> bool:
    """POST the alert as Slack-compatible JSON; return True on a 2xx response.

    A 5xx response, a timeout or a connection error is retried up to `retries` times. The
    first retry waits `backoff_seconds` and each further one twice as long. A 4xx response is
    not retried. Failures are logged and return False, never
    raise. The URL carries the webhook's secret, so only its host is logged.
    """
    host = urlsplit(url).hostname or "unknown host"
    body = json.dumps(slack_payload(alert)).encode("utf-8")
    attempts = retries + 1
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            error = f"HTTP {exc.code}"
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            status = None
            reason = getattr(exc, "reason", exc)
            error = f"{type(exc).__name__}: {reason}"
        except ValueError as exc:
            logger.error("Webhook URL for host %s is invalid: %s", host, type(exc).__name__)
            return False
        else:
            if 200 <= status < 300:
                logger.info("Posted alert to webhook at %s (attempt %d)", host, attempt)
                return True
            error = f"HTTP {status}"

        retryable = status is None or status >= 500
        if not retryable or attempt == attempts:
            logger.error("Webhook post to %s failed after %d attempt(s): %s", host, attempt, error)
            return False
        delay = backoff_seconds * 2 ** (attempt - 1)
        logger.warning("Webhook post to %s failed (%s), retrying in %.1f s", host, error, delay)
        time.sleep(delay)
    return False
