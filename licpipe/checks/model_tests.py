"""Describe dbt data-test results in one sentence each and record failed ones as alerts.

dagster-dbt turns every dbt test into an asset check whose metadata carries the test's status
and failing-row count, but no message. Once `dbt build` has finished, each check gets a
`message` with the count and up to five failing rows, read by running the test's compiled SQL
again. A test that warned or failed also writes a row to `analytics.quality_alerts`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
from dagster import AssetCheckResult

from licpipe.checks.alerts import alert_exists, alert_id_for, post_webhook, record_alert
from licpipe.checks.results import MAX_EXAMPLES, plain_value

logger = logging.getLogger(__name__)

# dbt result statuses that raise an alert, with the alert severity.
ALERT_SEVERITIES = {"warn": "WARN", "fail": "ERROR", "error": "ERROR"}


def describe_test_results(
    con: duckdb.DuckDBPyConnection,
    check_results: Iterable[AssetCheckResult],
    run_results: Mapping[str, Any],
    manifest: Mapping[str, Any],
    *,
    webhook_url: str = "",
) -> list[AssetCheckResult]:
    """Return the check results with a `message`, recording an alert for each failed test.

    `run_results` and `manifest` are the dbt build's `run_results.json` and manifest. A result
    whose test is missing from them keeps dagster-dbt's status in its message.
    """
    by_unique_id = {result["unique_id"]: result for result in run_results.get("results", [])}
    nodes = manifest.get("nodes", {})
    described = []
    for check in check_results:
        unique_id = _metadata_text(check, "unique_id")
        run_result = by_unique_id.get(unique_id, {})
        node = nodes.get(unique_id, {})
        name = node.get("name") or unique_id.split(".")[-1] or check.check_name
        status = str(run_result.get("status") or _metadata_text(check, "status") or "unknown")
        failures = int(run_result.get("failures") or 0)
        examples = []
        if failures and status in ALERT_SEVERITIES:
            examples = failing_rows(con, run_result.get("compiled_code") or "")
        message = message_for_test(
            name,
            check.asset_key.to_user_string(),
            status,
            failures,
            examples,
            description=node.get("description") or "",
            dbt_message=run_result.get("message") or "",
        )
        metadata: dict[str, Any] = {"message": message}
        if status in ALERT_SEVERITIES:
            metadata["alert_id"] = _record(
                con, check, name, status, message, failures, examples, webhook_url
            )
        described.append(check.with_metadata({**check.metadata, **metadata}))
    return described


def failing_rows(con: duckdb.DuckDBPyConnection, compiled_sql: str) -> list[dict[str, Any]]:
    """Run a test's compiled SQL again and return the first five of the rows it selects.

    A query that fails returns no rows and logs a warning, because the count dbt reported is
    still right without examples.
    """
    if not compiled_sql.strip():
        return []
    # The test's own SQL can end in a `--` comment, so it gets a line of its own. Sorting
    # makes the examples, and so the message and alert id, the same on every run.
    sql = (
        f"select * from (\n{compiled_sql.strip().rstrip(';')}\n) as failing_rows "
        "order by all limit ?"
    )
    try:
        cursor = con.execute(sql, [MAX_EXAMPLES])
        columns = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    except duckdb.Error as error:
        logger.warning("Could not read failing rows of a dbt test: %s", error)
        return []
    return [
        {column: plain_value(value) for column, value in zip(columns, row, strict=True)}
        for row in rows
    ]


def message_for_test(
    name: str,
    asset: str,
    status: str,
    failures: int,
    examples: list[dict[str, Any]],
    *,
    description: str = "",
    dbt_message: str = "",
) -> str:
    """Build the one-sentence message of a dbt test result.

    `description` is a noun phrase naming what the test's rows are, such as "application
    names the catalog does not map".
    """
    if status == "pass":
        return f"dbt test {name} on {asset} passed with no failing rows."
    if status == "skipped":
        return f"dbt test {name} on {asset} was skipped because an upstream model failed."
    if status == "error":
        detail = dbt_message.strip() or "see the dbt log"
        return f"dbt test {name} on {asset} could not run: {detail}."
    level = "a warning" if status == "warn" else "a failure"
    sentence = f"dbt test {name} on {asset} returned {failures} row(s) as {level}"
    listing = description.strip().rstrip(".")
    if listing:
        sentence += f", listing {listing[:1].lower()}{listing[1:]}"
    if examples:
        listed = "; ".join(_format_row(row) for row in examples[:MAX_EXAMPLES])
        sentence += f", for example {listed}"
    return sentence + "."


def _format_row(row: Mapping[str, Any]) -> str:
    return ", ".join(f"{column}={value}" for column, value in row.items())


def _metadata_text(check: AssetCheckResult, key: str) -> str:
    value = check.metadata.get(key)
    return str(getattr(value, "value", value) or "")


def _record(
    con: duckdb.DuckDBPyConnection,
    check: AssetCheckResult,
    name: str,
    status: str,
    message: str,
    failures: int,
    examples: list[dict[str, Any]],
    webhook_url: str,
) -> str:
    severity = ALERT_SEVERITIES[status]
    check_name = f"dbt.{name}"
    asset_key = check.asset_key.to_user_string()
    is_new = not alert_exists(con, alert_id_for(check_name, asset_key, message, failures))
    alert_id = record_alert(
        con,
        check_name=check_name,
        asset_key=asset_key,
        severity=severity,
        message=message,
        failed_count=failures,
        examples=examples,
    )
    # Each failure is posted once, so a re-run on the same data posts nothing.
    if webhook_url and severity == "ERROR" and is_new:
        post_webhook(
            webhook_url,
            {
                "alert_id": alert_id,
                "check_name": check_name,
                "asset_key": asset_key,
                "severity": severity,
                "message": message,
                "failed_count": failures,
            },
        )
    return alert_id
