"""dbt marts on identity fixtures: e-mail case, Microsoft 365 deleted flags, concealed rows."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pytest

from tests.dbt.raw_fixture import create_raw_schema, insert_rows, read_export_rows, run_dbt

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dbt"


class IdentityBuild(NamedTuple):
    """The fixture warehouse, the `dbt build` and `dbt docs generate` runs, and the build's
    run_results.json."""

    warehouse: Path
    build: subprocess.CompletedProcess[str]
    docs: subprocess.CompletedProcess[str]
    build_results: dict[str, Any]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> IdentityBuild:
    """Build the project once on the fixture files, then generate its docs."""
    warehouse = tmp_path_factory.mktemp("identity") / "warehouse.duckdb"
    create_raw_schema(warehouse)
    insert_rows(
        warehouse,
        "hr_directory",
        read_export_rows(FIXTURES / "hr_case_mismatch.csv"),
        source_file="hr/hr_directory.csv",
    )
    insert_rows(
        warehouse,
        "adobe_users",
        read_export_rows(FIXTURES / "adobe_case_mismatch.csv"),
        source_file="adobe/adobe_users.csv",
    )
    insert_rows(
        warehouse,
        "m365_active_user_detail",
        read_export_rows(FIXTURES / "m365_concealed.csv"),
        source_file="m365/concealed.csv",
        loaded_at=datetime(2024, 5, 2, 6, 0),
    )
    insert_rows(
        warehouse,
        "m365_active_user_detail",
        read_export_rows(FIXTURES / "m365_deleted.csv"),
        source_file="m365/deleted.csv",
        loaded_at=datetime(2024, 5, 2, 7, 0),
    )
    build = run_dbt(warehouse, "build")
    # docs generate rewrites run_results.json, so the build's results are read first.
    build_results = json.loads((warehouse.parent / "dbt_target" / "run_results.json").read_text())
    docs = run_dbt(warehouse, "docs", "generate")
    return IdentityBuild(warehouse, build, docs, build_results)


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_build_passes(built):
    assert built.build.returncode == 0, built.build.stdout[-4000:]


def test_docs_generate_passes(built):
    assert built.docs.returncode == 0, built.docs.stdout[-4000:]


def test_case_variants_give_two_people(built):
    warehouse = built.warehouse
    keys = query(
        warehouse,
        "select user_key from main_marts.dim_users "
        "where user_key like '%doe%' or user_key like '%lee%' order by 1",
    )
    assert keys == [("jane.doe@example.com",), ("sam.lee@example.com",)]


def test_adobe_rows_match_hr(built):
    warehouse = built.warehouse
    methods = query(
        warehouse,
        "select match_method, count(*) from main_intermediate.int_identities "
        "where source = 'adobe' group by 1",
    )
    assert methods == [("email", 2)]
    unmatched = query(
        warehouse,
        "select count(*) from main_intermediate.int_unmatched_identities where source = 'adobe'",
    )
    assert unmatched == [(0,)]


def test_terminated_holder_keeps_adobe_seat(built):
    warehouse = built.warehouse
    person = query(
        warehouse,
        "select hr_status, is_in_hr from main_marts.dim_users "
        "where user_key = 'sam.lee@example.com'",
    )
    assert person == [("terminated", True)]
    seats = query(
        warehouse,
        "select application_id, sku, source from main_marts.fct_license_assignments "
        "where user_key = 'sam.lee@example.com'",
    )
    assert seats == [("adobe_cc", "Creative Cloud All Apps", "adobe")]


def test_blank_deleted_date_is_null(built):
    warehouse = built.warehouse
    rows = query(
        warehouse,
        "select user_key, is_deleted_in_m365, m365_deleted_date from main_marts.dim_users "
        "where user_key in ('user2@example.com', 'user3@example.com') order by 1",
    )
    assert rows == [
        ("user2@example.com", True, None),
        ("user3@example.com", True, date(2024, 4, 2)),
    ]


def test_deleted_but_active_conflicts(built):
    warehouse = built.warehouse
    flags = dict(
        query(
            warehouse,
            "select user_key, has_conflicting_deleted_flag from main_marts.dim_users "
            "where user_key like 'user_@example.com'",
        )
    )
    assert flags["user4@example.com"] is True
    assert flags["user2@example.com"] is False
    assert flags["user1@example.com"] is False


def test_deleted_holder_keeps_assignment(built):
    warehouse = built.warehouse
    holders = query(
        warehouse,
        "select user_key from main_marts.fct_license_assignments "
        "where sku = 'Microsoft 365 E3' order by 1",
    )
    assert holders == [("user1@example.com",), ("user2@example.com",), ("user4@example.com",)]


def test_concealed_rows_are_not_people(built):
    warehouse = built.warehouse
    people = query(
        warehouse,
        "select count(*) from main_marts.dim_users "
        "where regexp_matches(upper(user_key), '^[0-9A-F]{32}$') or user_key like '%unknown%'",
    )
    assert people == [(0,)]


def test_concealed_rows_are_counted(built):
    warehouse = built.warehouse
    counted = query(
        warehouse,
        "select raw_identity, rows from main_intermediate.int_unmatched_identities "
        "where source = 'm365' and is_concealed order by 1",
    )
    assert counted == [("(Unknown)", 1), ("3F2A9C0E5B7D41A8C6E09F1B2D3C4A5E", 1)]


def test_as_of_date_is_latest_report(built):
    warehouse = built.warehouse
    assert query(warehouse, "select as_of_date from main_marts.as_of_date") == [(date(2024, 5, 1),)]


def test_terminated_holder_reclaimed_at_once(built):
    warehouse = built.warehouse
    person = query(
        warehouse,
        "select account_status, is_reclaim_at_once from main_marts.dim_users "
        "where user_key = 'sam.lee@example.com'",
    )
    assert person == [("terminated", True)]


def test_deleted_holder_reclaimed_at_once(built):
    warehouse = built.warehouse
    person = query(
        warehouse,
        "select account_status, is_reclaim_at_once from main_marts.dim_users "
        "where user_key = 'user2@example.com'",
    )
    assert person == [("deleted", True)]


def test_deleted_but_active_not_reclaimed(built):
    warehouse = built.warehouse
    person = query(
        warehouse,
        "select account_status, is_reclaim_at_once from main_marts.dim_users "
        "where user_key = 'user4@example.com'",
    )
    assert person == [("deleted_flag_conflict", False)]


def test_conflicting_flag_warns(built):
    statuses = {
        result["unique_id"].split(".")[2]: (result["status"], result["failures"])
        for result in built.build_results["results"]
        if result["unique_id"].startswith("test.")
    }
    assert statuses["conflicting_deleted_flags_warn"] == ("warn", 1)


def test_last_activity_dates_are_usage(built):
    warehouse = built.warehouse
    days = query(
        warehouse,
        "select user_key, usage_date from main_marts.fct_daily_usage "
        "where application_id = 'm365' order by 1",
    )
    assert days == [
        ("user1@example.com", date(2024, 4, 30)),
        ("user2@example.com", date(2024, 3, 2)),
        ("user3@example.com", date(2024, 3, 29)),
        ("user4@example.com", date(2024, 4, 30)),
    ]
