"""dbt build on an all-empty raw schema: every model and test runs and every mart exists."""

from __future__ import annotations

import duckdb
import pytest

from licpipe.loading import ensure_raw_tables
from tests.dbt.raw_fixture import create_raw_schema, run_dbt

# Mart columns fixed by docs/tables.md. Marts may add more.
MART_COLUMNS = {
    "as_of_date": ["as_of_date"],
    "dim_users": [
        "user_key",
        "email",
        "employee_id",
        "display_name",
        "department",
        "role",
        "manager_key",
        "hire_date",
        "termination_date",
        "hr_status",
        "is_in_hr",
        "is_service_account",
        "is_external",
        "idp_status",
    ],
    "dim_applications": ["application_id", "application", "vendor", "license_model"],
    "dim_skus": [
        "sku",
        "application_id",
        "application",
        "license_model",
        "feature",
        "seats_owned",
        "monthly_unit_price",
        "currency",
        "renewal_date",
        "quote_unit_price",
        "min_commitment_seats",
    ],
    "fct_license_assignments": [
        "user_key",
        "application_id",
        "application",
        "sku",
        "assigned_on",
        "source",
    ],
    "fct_daily_usage": [
        "user_key",
        "application_id",
        "application",
        "usage_date",
        "is_active",
        "sessions",
        "minutes",
        "events",
        "features_used",
        "sources",
    ],
    "fct_concurrency": [
        "feature_key",
        "server",
        "daemon",
        "feature",
        "application_id",
        "hour_start",
        "peak_concurrent_seats",
        "checkouts",
        "denials",
        "distinct_users",
    ],
    "fct_license_positions": [
        "sku",
        "application_id",
        "position_date",
        "seats_owned",
        "seats_assigned",
        "active_30d",
        "active_60d",
        "active_90d",
        "installed",
        "seats_gap",
    ],
}


@pytest.fixture(scope="module")
def empty_build(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("empty") / "warehouse.duckdb"
    create_raw_schema(warehouse)
    return warehouse, run_dbt(warehouse, "build")


def table_columns(warehouse, schema: str) -> dict[str, list[str]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = ? order by table_name, ordinal_position",
            [schema],
        ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


def test_empty_build_passes(empty_build):
    _, result = empty_build
    assert result.returncode == 0, result.stdout[-4000:]
    assert "ERROR=0" in result.stdout


@pytest.mark.parametrize("mart", sorted(MART_COLUMNS))
def test_mart_has_contract_columns(empty_build, mart):
    warehouse, _ = empty_build
    columns = table_columns(warehouse, "main_marts")
    assert mart in columns
    missing = [name for name in MART_COLUMNS[mart] if name not in columns[mart]]
    assert missing == []


def test_purchase_lines_model_exists(empty_build):
    warehouse, _ = empty_build
    columns = table_columns(warehouse, "main_staging")
    assert "stg_entitlements__purchase_lines" in columns
    assert {"sku", "seats", "term_start", "term_end"} <= set(
        columns["stg_entitlements__purchase_lines"]
    )


def test_empty_marts_have_no_rows(empty_build):
    warehouse, _ = empty_build
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for mart in ("dim_users", "fct_daily_usage", "fct_concurrency", "fct_license_positions"):
            assert con.execute(f"select count(*) from main_marts.{mart}").fetchone() == (0,)
        assert con.execute("select as_of_date from main_marts.as_of_date").fetchall() == [(None,)]


def test_build_on_loader_schema(tmp_path):
    """The loader's own raw schema, every connector's tables empty, builds too."""
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ensure_raw_tables(con)
    result = run_dbt(warehouse, "build")
    assert result.returncode == 0, result.stdout[-4000:]


def test_build_replaces_older_seed_table(tmp_path):
    """A warehouse whose catalog seed table predates a new seed column still builds."""
    warehouse = tmp_path / "warehouse.duckdb"
    create_raw_schema(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema main_seeds")
        con.execute("create table main_seeds.app_catalog (source varchar, raw_name varchar)")
        con.execute("insert into main_seeds.app_catalog values ('m365', 'OLD NAME')")

    result = run_dbt(warehouse, "build")

    assert result.returncode == 0, result.stdout[-4000:]
    columns = table_columns(warehouse, "main_seeds")["app_catalog"]
    assert "vendor_daemon" in columns
