"""Blocking Dagster asset checks built from the suite files in `expectations/`.

A suite named `raw_hr_directory` guards asset `raw/hr_directory`; one named `fct_daily_usage`
guards the dbt model of that name. A failed error-level expectation blocks downstream assets,
writes a row to `analytics.quality_alerts` and, when a webhook is configured, posts it.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey

from licpipe.settings import EXPECTATIONS_DIR

CHECK_NAME = "expectations_suite"


def suite_names() -> list[str]:
    return sorted(path.stem for path in Path(EXPECTATIONS_DIR).glob("*.json"))


def asset_key_for_suite(name: str) -> AssetKey:
    """`raw_<table>` guards a raw table, `fct_`/`dim_` a dbt mart, anything else a model asset."""
    if name.startswith("raw_"):
        return AssetKey(["raw", name.removeprefix("raw_")])
    if name.startswith(("fct_", "dim_")):
        return AssetKey(["marts", name])
    return AssetKey([name])


def check_specs_for(asset_keys: set[AssetKey]) -> list[AssetCheckSpec]:
    """Blocking check specs for every suite that guards one of these assets."""
    specs = []
    for name in suite_names():
        key = asset_key_for_suite(name)
        if key in asset_keys:
            specs.append(
                AssetCheckSpec(
                    CHECK_NAME,
                    asset=key,
                    blocking=True,
                    description=f"Great Expectations suite expectations/{name}.json",
                )
            )
    return specs


def run_suite_check(
    con: duckdb.DuckDBPyConnection,
    suite_name: str,
    *,
    webhook_url: str = "",
    parameters: dict | None = None,
    log=None,
) -> AssetCheckResult:
    """Validate one suite, record an alert for any failure and return the check result."""
    from licpipe.checks.alerts import alert_exists, alert_id_for, post_webhook, record_alert
    from licpipe.checks.suites import validate_table

    key = asset_key_for_suite(suite_name)
    outcome = validate_table(con, suite_name, parameters=parameters)
    failed = [r for r in outcome.results if not _result_success(r)]
    metadata = {
        "expectations": len(outcome.results),
        "failed_expectations": len(failed),
        "message": outcome.message or "all expectations passed",
    }
    if outcome.passed and not failed:
        return AssetCheckResult(
            check_name=CHECK_NAME, asset_key=key, passed=True, metadata=metadata
        )

    severity = "ERROR" if not outcome.passed else "WARN"
    examples = [_result_examples(r) for r in failed][:5]
    failed_count = sum(_result_unexpected(r) for r in failed)
    is_new = not alert_exists(
        con,
        alert_id_for(
            f"{suite_name}.{CHECK_NAME}", key.to_user_string(), outcome.message, failed_count
        ),
    )
    alert_id = record_alert(
        con,
        check_name=f"{suite_name}.{CHECK_NAME}",
        asset_key=key.to_user_string(),
        severity=severity,
        message=outcome.message,
        failed_count=failed_count,
        examples=json.dumps(examples, default=str),
    )
    if log is not None:
        log.warning("Quality gate %s %s: %s", suite_name, severity, outcome.message)
    # Post each failure once; a re-run on the same data finds the alert already recorded.
    if webhook_url and severity == "ERROR" and is_new:
        post_webhook(
            webhook_url,
            {
                "alert_id": alert_id,
                "check_name": suite_name,
                "asset_key": key.to_user_string(),
                "severity": severity,
                "message": outcome.message,
                "failed_count": failed_count,
            },
        )
    return AssetCheckResult(
        check_name=CHECK_NAME,
        asset_key=key,
        passed=False,
        severity=AssetCheckSeverity.ERROR if severity == "ERROR" else AssetCheckSeverity.WARN,
        metadata={**metadata, "alert_id": alert_id},
    )


def _result_success(result) -> bool:
    return bool(getattr(result, "success", result[1] if isinstance(result, tuple) else True))


def _result_unexpected(result) -> int:
    value = getattr(result, "unexpected_count", None)
    if value is None and isinstance(result, tuple) and len(result) > 2:
        value = result[2]
    return int(value or 0)


def _result_examples(result):
    if isinstance(result, tuple):
        return {"expectation": str(result[0]), "examples": result[3] if len(result) > 3 else []}
    return {
        "expectation": str(getattr(result, "expectation", "")),
        "examples": getattr(result, "examples", []),
    }
