"""`dbt source freshness` on raw tables loaded now, in 2024, or never."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from tests.dbt.raw_fixture import create_raw_schema, insert_rows, run_dbt

# Raw tables that carry a freshness check in models/staging/_sources.yml.
CHECKED_TABLES = {
    "adobe_users",
    "flexlm_events",
    "flexlm_sessions",
    "hr_directory",
    "m365_active_user_detail",
    "okta_events",
    "okta_users",
    "salesforce_login_history",
    "salesforce_users",
    "slack_members",
}


@pytest.fixture(scope="module")
def freshness(tmp_path_factory):
    """Load HR now and Microsoft 365 in 2024, then return the freshness run and table statuses."""
    warehouse = tmp_path_factory.mktemp("freshness") / "warehouse.duckdb"
    create_raw_schema(warehouse)
    # The loader writes _loaded_at as naive UTC.
    insert_rows(
        warehouse,
        "hr_directory",
        [{"employee_id": "E1", "email": "jane.doe@example.com", "status": "active"}],
        source_file="hr/hr.csv",
        loaded_at=datetime.now(UTC).replace(tzinfo=None),
    )
    insert_rows(
        warehouse,
        "m365_active_user_detail",
        [{"report_refresh_date": date(2024, 5, 1), "user_principal_name": "a@example.com"}],
        source_file="m365/old.csv",
        loaded_at=datetime(2024, 5, 2, 6, 0),
    )
    result = run_dbt(warehouse, "source", "freshness")
    sources = json.loads((warehouse.parent / "dbt_target" / "sources.json").read_text())
    statuses = {
        entry["unique_id"].rsplit(".", 1)[-1]: entry["status"] for entry in sources["results"]
    }
    return result, statuses


def test_freshness_run_passes(freshness):
    result, _ = freshness
    assert result.returncode == 0, result.stdout[-4000:]


def test_freshness_covers_daily_exports(freshness):
    _, statuses = freshness
    assert set(statuses) == CHECKED_TABLES


def test_recent_load_is_fresh(freshness):
    _, statuses = freshness
    assert statuses["hr_directory"] == "pass"


def test_old_load_warns(freshness):
    _, statuses = freshness
    assert statuses["m365_active_user_detail"] == "warn"


def test_empty_table_warns(freshness):
    _, statuses = freshness
    assert statuses["slack_members"] == "warn"
