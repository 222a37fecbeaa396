"""Suite checks on real exports loaded by the real loader: results and quality alert rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import AssetCheckSeverity, AssetKey

from licpipe.checks.alerts import ensure_alerts_table
from licpipe.checks.asset_checks import check_specs_for, run_suite_check
from licpipe.loading import load_source

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SETTING = "Display concealed user, group, and site names in all reports"
SETTING_PATH = "Microsoft 365 admin center > Settings > Org settings > Reports"


def load(con: duckdb.DuckDBPyConnection, tmp_path: Path, source: str, *files: Path) -> None:
    """Copy `files` into a landing folder of `source` and load them."""
    folder = tmp_path / "landing" / source
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy(path, folder / path.name)
    assert not load_source(con, source, tmp_path / "landing").failures


def alert_rows(con: duckdb.DuckDBPyConnection, suite: str) -> list[tuple]:
    ensure_alerts_table(con)
    return con.execute(
        "select severity, message from analytics.quality_alerts where check_name = ?",
        [f"{suite}.expectations_suite"],
    ).fetchall()


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


@pytest.mark.parametrize(
    ("fixture", "suite"),
    [
        ("teams_user_activity_user_detail_concealed.csv", "raw_m365_teams_user_activity"),
        ("office365_activations_user_detail_concealed.csv", "raw_m365_activations_user_detail"),
    ],
)
def test_concealed_report_stops_run(con, tmp_path, fixture, suite):
    load(con, tmp_path, "m365", FIXTURES / "m365" / fixture)

    result = run_suite_check(con, suite)

    assert not result.passed
    assert result.severity == AssetCheckSeverity.ERROR
    message = result.metadata["message"].value
    assert "1 of 1 rows (100%)" in message
    assert SETTING in message
    assert SETTING_PATH in message
    [(severity, alert_message)] = alert_rows(con, suite)
    assert severity == "ERROR"
    assert alert_message == message


def test_m365_user_reports_blocking(con):
    keys = {
        AssetKey(["raw", table])
        for table in (
            "m365_active_user_detail",
            "m365_app_user_detail",
            "m365_teams_user_activity",
            "m365_activations_user_detail",
        )
    }

    specs = check_specs_for(keys)

    assert {spec.asset_key for spec in specs} == keys
    assert all(spec.blocking for spec in specs)


def test_lmstat_count_mismatch_alerts(con, tmp_path):
    load(con, tmp_path, "flexlm", FIXTURES / "checks" / "lmstat_a_count_mismatch.txt")

    result = run_suite_check(con, "raw_lmstat_features")

    assert not result.passed
    assert result.severity == AssetCheckSeverity.WARN
    [(severity, message)] = alert_rows(con, "raw_lmstat_features")
    assert severity == "WARN"
    assert "expect_column_values_to_be_in_set(counts_match): 1 of 1 rows unexpected" in message


def test_hr_without_hire_date_column_no_alert(con, tmp_path):
    load(con, tmp_path, "hr", FIXTURES / "hr" / "lower_case_emails.csv")

    result = run_suite_check(con, "raw_hr_directory")

    assert result.passed, result.metadata["message"].value
    assert alert_rows(con, "raw_hr_directory") == []


def test_hr_invalid_hire_date_alerts(con, tmp_path):
    export = tmp_path / "hr_directory.csv"
    export.write_text(
        "employee_id,email,hire_date,status\n"
        "E1,ana.ruiz@example.com,2020-03-01,active\n"
        "E2,li.wei@example.com,last spring,active\n"
    )
    load(con, tmp_path, "hr", export)

    result = run_suite_check(con, "raw_hr_directory")

    [(severity, message)] = alert_rows(con, "raw_hr_directory")
    assert result.severity == AssetCheckSeverity.WARN
    assert severity == "WARN"
    assert "1 of 2 hr lines" in message
