"""dbt marts on identity fixtures: e-mail case, Microsoft 365 deleted flags, concealed rows."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from tests.dbt.raw_fixture import create_raw_schema, insert_rows, read_export_rows, run_dbt

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dbt"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Build the project once on the fixture files and return the warehouse and both runs."""
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
    docs = run_dbt(warehouse, "docs", "generate")
    return warehouse, build, docs


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_build_passes(built):
    _, build, _ = built
    assert build.returncode == 0, build.stdout[-4000:]


def test_docs_generate_passes(built):
    _, _, docs = built
    assert docs.returncode == 0, docs.stdout[-4000:]


def test_case_variants_give_two_people(built):
    warehouse, _, _ = built
    keys = query(
        warehouse,
        "select user_key from main_marts.dim_users "
        "where user_key like '%doe%' or user_key like '%lee%' order by 1",
    )
    assert keys == [("jane.doe@example.com",), ("sam.lee@example.com",)]


def test_adobe_rows_match_hr(built):
    warehouse, _, _ = built
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
    warehouse, _, _ = built
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
    warehouse, _, _ = built
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
    warehouse, _, _ = built
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
    warehouse, _, _ = built
    holders = query(
        warehouse,
        "select user_key from main_marts.fct_license_assignments "
        "where sku = 'Microsoft 365 E3' order by 1",
    )
    assert holders == [("user1@example.com",), ("user2@example.com",), ("user4@example.com",)]


def test_concealed_rows_are_not_people(built):
    warehouse, _, _ = built
    people = query(
        warehouse,
        "select count(*) from main_marts.dim_users "
        "where regexp_matches(upper(user_key), '^[0-9A-F]{32}$') or user_key like '%unknown%'",
    )
    assert people == [(0,)]


def test_concealed_rows_are_counted(built):
    warehouse, _, _ = built
    counted = query(
        warehouse,
        "select raw_identity, rows from main_intermediate.int_unmatched_identities "
        "where source = 'm365' and is_concealed order by 1",
    )
    assert counted == [("(Unknown)", 1), ("3F2A9C0E5B7D41A8C6E09F1B2D3C4A5E", 1)]


def test_as_of_date_is_latest_report(built):
    warehouse, _, _ = built
    assert query(warehouse, "select as_of_date from main_marts.as_of_date") == [(date(2024, 5, 1),)]
