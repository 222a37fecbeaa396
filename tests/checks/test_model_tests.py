"""The dbt asset run by Dagster: test messages, quality alerts and the as-of date gate.

The landing holds a Microsoft 365 report of deleted accounts, with no HR file, and a FlexLM
log whose clock runs five years ahead of this machine's.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import NamedTuple

import duckdb
import pytest
from dagster import materialize

from licpipe.assets.dbt import licpipe_dbt_models
from licpipe.checks.model_tests import failing_rows
from licpipe.loading import load_source
from licpipe.resources import build_resources
from licpipe.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DELETED_REPORT = FIXTURES / "m365" / "active_user_detail_deleted.csv"


def skewed_flexlm_log(day: date) -> str:
    """A debug log dated `day`: one CAD_PRO checkout and one of a feature no catalog maps."""
    stamp = f"{day.month}/{day.day}/{day.year}"
    return (
        f" 9:00:00 (lmgrd) TIMESTAMP {stamp}\n"
        ' 9:00:05 (acmed) OUT: "CAD_PRO" jdoe@ws-001  \n'
        ' 9:10:00 (acmed) OUT: "MYSTERY_TOOL" jdoe@ws-001  \n'
        ' 9:30:00 (acmed) IN: "CAD_PRO" jdoe@ws-001  \n'
        ' 9:40:00 (acmed) IN: "MYSTERY_TOOL" jdoe@ws-001  \n'
    )


class DbtRun(NamedTuple):
    warehouse: Path
    success: bool
    evaluations: list
    failure: str


def run_dbt_asset(root: Path, files: dict[str, dict[str, str | Path]]) -> DbtRun:
    """Land `files` ({source: {name: text or fixture path}}), load them and run the dbt asset."""
    landing = root / "landing"
    for source, named in files.items():
        (landing / source).mkdir(parents=True)
        for name, content in named.items():
            target = landing / source / name
            if isinstance(content, Path):
                shutil.copy(content, target)
            else:
                target.write_text(content)
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for source in files:
            assert not load_source(con, source, landing).failures

    resources = build_resources(Settings(landing_dir=landing, warehouse_path=warehouse))
    result = materialize([licpipe_dbt_models], resources=resources, raise_on_error=False)

    failures = [
        event.step_failure_data.user_failure_data.description
        for event in result.all_node_events
        if event.event_type_value == "STEP_FAILURE" and event.step_failure_data.user_failure_data
    ]
    return DbtRun(
        warehouse, result.success, result.get_asset_check_evaluations(), "".join(failures)
    )


@pytest.fixture(scope="module")
def deleted_run(tmp_path_factory) -> DbtRun:
    future = date.today().replace(year=date.today().year + 5, month=4, day=30)
    return run_dbt_asset(
        tmp_path_factory.mktemp("deleted"),
        {
            "m365": {DELETED_REPORT.name: DELETED_REPORT},
            "flexlm": {"skewed.log": skewed_flexlm_log(future)},
        },
    )


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def alerts(warehouse: Path, check_name: str) -> list[tuple]:
    return query(
        warehouse,
        "select severity, message, failed_count, examples from analytics.quality_alerts "
        f"where check_name = '{check_name}'",
    )


def test_run_succeeds(deleted_run):
    assert deleted_run.success, deleted_run.failure


def test_every_check_has_message(deleted_run):
    assert len(deleted_run.evaluations) > 50
    for evaluation in deleted_run.evaluations:
        message = evaluation.metadata.get("message")
        assert message is not None, evaluation.check_name
        assert message.value.strip(), evaluation.check_name


def test_deleted_without_hr_reclaimed(deleted_run):
    people = dict(
        query(
            deleted_run.warehouse,
            "select user_key, is_reclaim_at_once from main_marts.dim_users "
            "where user_key in ('user2@example.com', 'user4@example.com')",
        )
    )

    assert people["user2@example.com"] is True
    assert people["user4@example.com"] is False


def test_without_hr_nobody_external(deleted_run):
    # No HR file means no known company domain, so no domain makes a person external.
    external = query(
        deleted_run.warehouse, "select user_key from main_marts.dim_users where is_external"
    )

    assert external == []


def test_conflicting_flag_writes_alert(deleted_run):
    [(severity, message, failed_count, examples)] = alerts(
        deleted_run.warehouse, "dbt.conflicting_deleted_flags_warn"
    )

    assert severity == "WARN"
    assert failed_count == 1
    assert "returned 1 row(s) as a warning" in message
    assert "user_key=user4@example.com" in message
    assert json.loads(examples)[0]["user_key"] == "user4@example.com"


def test_unmapped_application_writes_alert(deleted_run):
    [(severity, message, failed_count, _)] = alerts(
        deleted_run.warehouse, "dbt.unmapped_applications_warn"
    )

    assert severity == "WARN"
    assert failed_count >= 1
    assert "raw_name=MYSTERY_TOOL" in message


def test_unmapped_check_message_not_empty(deleted_run):
    [evaluation] = [
        e for e in deleted_run.evaluations if e.check_name == "unmapped_applications_warn"
    ]

    assert not evaluation.passed
    assert "MYSTERY_TOOL" in evaluation.metadata["message"].value
    assert evaluation.metadata["alert_id"].value


def test_future_log_not_as_of(deleted_run):
    as_of = query(deleted_run.warehouse, "select as_of_date from main_marts.as_of_date")
    future_usage = query(
        deleted_run.warehouse,
        "select count(*) from main_marts.fct_daily_usage where usage_date > date '2024-05-01'",
    )

    assert as_of == [(date(2024, 5, 1),)]
    assert future_usage == [(0,)]


def test_future_log_writes_alert(deleted_run):
    [(severity, message, failed_count, _)] = alerts(
        deleted_run.warehouse, "dbt.future_dated_files_warn"
    )

    assert severity == "WARN"
    assert failed_count == 2
    assert "source_file=flexlm/skewed.log" in message


def test_no_dated_source_stops(tmp_path):
    """Adobe and an HR file without dates give no as-of date, so the run stops early."""
    run = run_dbt_asset(
        tmp_path,
        {
            "adobe": {"users.csv": FIXTURES / "adobe" / "mixed_case_emails.csv"},
            "hr": {"hr.csv": FIXTURES / "hr" / "lower_case_emails.csv"},
        },
    )

    assert not run.success
    assert "--as-of YYYY-MM-DD" in run.failure
    assert "no source in the landing folder has a usable date" in run.failure.lower()


def test_failing_rows_same_every_run():
    """Examples are sorted, so a re-run gives the same message and alert id."""
    con = duckdb.connect()
    con.execute("create table unmapped as select 10 - range as id from range(10)")

    rows = failing_rows(con, "select id from unmapped -- a trailing comment")

    assert rows == [{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}, {"id": 5}]


def test_failing_rows_invalid_sql_empty():
    con = duckdb.connect()

    assert failing_rows(con, "select * from no_such_table") == []
