"""Every suite in expectations/ on a clean and a dirty table, with real GX and DuckDB."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime
from pathlib import Path

import pytest

from licpipe.checks.suites import load_suite, validate_table
from licpipe.settings import EXPECTATIONS_DIR

from .conftest import land_rows

FIXTURES = Path(__file__).parent.parent / "fixtures" / "checks"

HR_ROWS = [
    {
        "employee_id": "10001",
        "email": "ana.ruiz@example.com",
        "status": "active",
        "hire_date": date(2020, 3, 1),
        "fte": 1.0,
    },
    {
        "employee_id": "10002",
        "email": "li.wei@example.com",
        "status": "terminated",
        "hire_date": date(2019, 6, 1),
        "fte": 0.5,
    },
    {
        "employee_id": "C-0003",
        "email": "sam.lee@example.com",
        "status": "leave",
        "hire_date": date(2021, 1, 4),
        "fte": 1.0,
    },
]
M365_ROWS = [
    {
        "report_refresh_date": date(2024, 5, 1),
        "user_principal_name": f"user{i}@example.com",
        "is_concealed": False,
        "has_exchange_license": True,
    }
    for i in range(1, 4)
]
FLEXLM_ROWS = [
    {
        "event_at": datetime(2024, 3, 30, 10, 1, 15),
        "event_type": "OUT",
        "feature": "CAD_PRO",
        "user_name": "user1",
        "seats": 1,
    },
    {
        "event_at": datetime(2024, 3, 30, 11, 0, 0),
        "event_type": "IN",
        "feature": "CAD_PRO",
        "user_name": "user1",
        "seats": 1,
    },
    {
        "event_at": datetime(2024, 3, 30, 11, 5, 0),
        "event_type": "DENIED",
        "feature": "CAD_PRO",
        "user_name": "user2",
        "seats": 4,
    },
]
ENTITLEMENT_ROWS = [
    {
        "vendor": "Acme",
        "application": "Acme CAD",
        "sku": "CAD_PRO",
        "license_model": "concurrent",
        "seats": 10,
        "unit_price": 120.0,
        "currency": "EUR",
        "renewal_date": date(2024, 9, 30),
    },
    {
        "vendor": "Microsoft",
        "application": "Microsoft 365",
        "sku": "M365_E3",
        "license_model": "named",
        "seats": 500,
        "unit_price": 33.75,
        "currency": "USD",
        "renewal_date": date(2025, 1, 31),
    },
]
OKTA_ROWS = [
    {
        "uuid": f"evt-{i}",
        "published_at": datetime(2024, 5, 1, 9, i),
        "event_type": "user.authentication.sso",
        "outcome_result": "SUCCESS",
    }
    for i in range(3)
]
SALESFORCE_ROWS = [
    {
        "username": f"user{i}@example.com",
        "login_time": datetime(2024, 5, 1, 8, i),
        "status": "Success",
    }
    for i in range(3)
]
SLACK_ROWS = [
    {
        "window_start": date(2024, 2, 1),
        "window_end": date(2024, 4, 30),
        "user_id": f"U0{i}",
        "email": f"user{i}@example.com",
        "days_active": 10 * i,
        "messages_posted": 5 * i,
    }
    for i in range(3)
]
LMSTAT_ROWS = [
    {
        "snapshot_at": datetime(2025, 1, 2, 10, 0),
        "feature": feature,
        "issued": 10,
        "in_use": in_use,
        "seats_checked_out": in_use - 2,
        "seats_reserved": 2,
        "counts_match": True,
    }
    for feature, in_use in (("CAD PRO", 7), ("VIEWER", 2))
]
M365_USER_REPORT_ROWS = [
    {
        "report_refresh_date": date(2024, 5, 1),
        "user_principal_name": f"user{i}@example.com",
        "is_concealed": False,
    }
    for i in range(3)
]
RAW_CASES = {
    "raw_hr_directory": ("hr_directory", "hr", HR_ROWS),
    "raw_m365_active_user_detail": ("m365_active_user_detail", "m365", M365_ROWS),
    "raw_flexlm_events": ("flexlm_events", "flexlm", FLEXLM_ROWS),
    "raw_entitlements": ("entitlements", "entitlements", ENTITLEMENT_ROWS),
    "raw_okta_events": ("okta_events", "okta", OKTA_ROWS),
    "raw_salesforce_login_history": ("salesforce_login_history", "salesforce", SALESFORCE_ROWS),
    "raw_slack_members": ("slack_members", "slack", SLACK_ROWS),
    "raw_lmstat_features": ("lmstat_features", "flexlm", LMSTAT_ROWS),
    "raw_m365_teams_user_activity": ("m365_teams_user_activity", "m365", M365_USER_REPORT_ROWS),
    "raw_m365_activations_user_detail": (
        "m365_activations_user_detail",
        "m365",
        M365_USER_REPORT_ROWS,
    ),
    "raw_m365_app_user_detail": ("m365_app_user_detail", "m365", M365_USER_REPORT_ROWS),
}
AS_OF = date(2024, 5, 1)


def build_daily_usage(con, rows):
    con.execute("create schema if not exists main_marts")
    con.execute(
        "create table main_marts.fct_daily_usage (user_key varchar, application_id varchar, "
        "application varchar, usage_date date, is_active boolean, sessions integer, "
        "minutes double, events integer, features_used integer, sources varchar)"
    )
    con.executemany(
        "insert into main_marts.fct_daily_usage (user_key, application_id, usage_date, minutes, "
        "sessions) values (?, ?, ?, ?, ?)",
        rows,
    )


USAGE_ROWS = [
    ("ana.ruiz@example.com", "m365", date(2024, 4, 29), 95.0, 3),
    ("ana.ruiz@example.com", "m365", date(2024, 4, 30), 120.0, 4),
    ("li.wei@example.com", "cad", date(2024, 5, 1), 480.0, 1),
]


def build_user_features(con, days):
    con.execute("create schema if not exists analytics")
    con.execute(
        "create table analytics.user_features "
        "(user_key varchar, application_id varchar, days_since_last_use integer)"
    )
    con.executemany(
        "insert into analytics.user_features values (?, ?, ?)",
        [(f"user{i}@example.com", "m365", d) for i, d in enumerate(days)],
    )


def failed(outcome):
    return [r for r in outcome.results if not r.success]


def test_every_suite_file_loads():
    names = sorted(p.stem for p in Path(EXPECTATIONS_DIR).glob("*.json"))

    assert set(RAW_CASES) | {"fct_daily_usage", "user_features"} == set(names)
    for name in names:
        suite = load_suite(name, parameters={"as_of": AS_OF})
        assert suite.name == name
        assert suite.expectations
        assert all(e.severity in ("error", "warn") for e in suite.expectations)


@pytest.mark.parametrize("suite_name", sorted(RAW_CASES))
def test_raw_suite_clean_passes(con, suite_name):
    table, source, rows = RAW_CASES[suite_name]
    land_rows(con, table, rows, source=source)

    outcome = validate_table(con, suite_name)

    assert failed(outcome) == []
    assert outcome.passed
    assert outcome.severity is None
    assert outcome.row_count == len(rows)
    assert "passed" in outcome.message


def test_daily_usage_clean_passes(con):
    build_daily_usage(con, USAGE_ROWS)

    outcome = validate_table(con, "fct_daily_usage", parameters={"as_of": AS_OF})

    assert failed(outcome) == []
    assert outcome.passed


def test_hr_dirty_fails_with_counts(con):
    rows = copy.deepcopy(HR_ROWS)
    rows[0]["email"] = None
    rows[1]["email"] = "li.wei-at-example.com"
    rows[2]["status"] = "contractor"
    land_rows(con, "hr_directory", rows, source="hr", recorded_rows=4)

    outcome = validate_table(con, "raw_hr_directory")

    assert not outcome.passed
    assert outcome.severity == "ERROR"
    by_name = {r.expectation: r for r in failed(outcome)}
    assert set(by_name) == {
        "expect_column_values_to_not_be_null(email)",
        "expect_column_values_to_match_regex(email)",
        "expect_column_values_to_be_in_set(status)",
        "row_count_matches_loader",
    }
    assert by_name["expect_column_values_to_not_be_null(email)"].unexpected_count == 1
    assert by_name["expect_column_values_to_match_regex(email)"].examples == [
        "li.wei-at-example.com"
    ]
    assert by_name["expect_column_values_to_be_in_set(status)"].examples == ["contractor"]
    assert by_name["row_count_matches_loader"].examples == [
        "export.csv: loader recorded 4, table has 3"
    ]
    assert "failed 4 of 8 expectations on 3 rows" in outcome.message
    assert "'contractor'" in outcome.message


def test_hr_missing_hire_date_only_warns(con):
    rows = copy.deepcopy(HR_ROWS)
    rows[0]["hire_date"] = None
    land_rows(con, "hr_directory", rows, source="hr")

    outcome = validate_table(con, "raw_hr_directory")

    assert outcome.passed
    assert outcome.severity == "WARN"
    assert [r.expectation for r in failed(outcome)] == ["not_null_where_file_has_column(hire_date)"]
    assert "export.csv: 1 row(s)" in outcome.message


def test_hr_without_hire_dates_passes(con):
    rows = copy.deepcopy(HR_ROWS)
    for row in rows:
        row["hire_date"] = None
    land_rows(con, "hr_directory", rows, source="hr")

    outcome = validate_table(con, "raw_hr_directory")

    assert failed(outcome) == []
    assert outcome.severity is None


def test_hr_text_fte_fails_cleanly(con):
    """An fte column loaded as VARCHAR is one failed expectation, the others still run."""
    con.execute("drop table raw.hr_directory")
    csv_path = FIXTURES / "hr_directory_text_fte.csv"
    con.execute(
        "create table raw.hr_directory as select *, 'active' as status, "
        "date '2020-01-01' as hire_date, 'hr/hr.csv' as _source_file, "
        "'b' as _file_sha256, 0 as _line_number "
        f"from read_csv('{csv_path}', all_varchar = true)"
    )
    con.execute("insert into raw.loaded_tables values ('b', 'hr_directory', 4)")

    outcome = validate_table(con, "raw_hr_directory")

    assert outcome.severity == "WARN"
    by_name = {r.expectation: r for r in outcome.results}
    fte = by_name["expect_column_values_to_be_between(fte)"]
    assert not fte.success
    assert fte.unexpected_count == 1
    assert fte.examples == ["n/a"]
    assert "column fte is VARCHAR" in fte.detail
    assert by_name["expect_column_values_to_not_be_null(email)"].success
    assert by_name["row_count_matches_loader"].success


def test_m365_concealed_share_names_setting(con):
    land_rows(con, "m365_active_user_detail", [], source="m365")
    con.execute("delete from raw.loaded_tables")
    csv_path = FIXTURES / "m365_concealed.csv"
    con.execute(
        "insert into raw.m365_active_user_detail "
        "(report_refresh_date, user_principal_name, _file_sha256) "
        f"select \"Report Refresh Date\", \"User Principal Name\", 'c' from read_csv('{csv_path}')"
    )
    con.execute(
        "update raw.m365_active_user_detail set user_principal_name = "
        "'8B1D2C3E4F5061728394A5B6C7D8E9F0' where user_principal_name = '(Unknown)'"
    )
    con.execute("insert into raw.loaded_tables values ('c', 'm365_active_user_detail', 3)")

    outcome = validate_table(con, "raw_m365_active_user_detail")

    assert not outcome.passed
    assert outcome.severity == "ERROR"
    [concealed] = failed(outcome)
    assert concealed.expectation == "share_of_rows_below"
    assert concealed.unexpected_count == 2
    assert "2 of 3 rows (67%)" in outcome.message
    assert "Display concealed user, group, and site names in all reports" in outcome.message
    assert "Microsoft 365 admin center > Settings > Org settings > Reports" in outcome.message
    assert "displayConcealedNames" in outcome.message


def test_flexlm_dirty_fails(con):
    rows = copy.deepcopy(FLEXLM_ROWS)
    rows[0]["event_type"] = "CHECKOUT"
    rows[1]["event_at"] = datetime(1970, 1, 1, 0, 0)
    rows[2]["seats"] = 0
    land_rows(con, "flexlm_events", rows, source="flexlm", rejected=2)

    outcome = validate_table(con, "raw_flexlm_events")

    assert not outcome.passed
    by_name = {r.expectation: r for r in failed(outcome)}
    assert set(by_name) == {
        "expect_column_values_to_be_in_set(event_type)",
        "expect_column_values_to_be_between(seats)",
        "expect_column_values_to_be_between(event_at)",
        "rejected_share_below",
    }
    assert by_name["expect_column_values_to_be_between(event_at)"].examples == ["1970-01-01"]
    assert by_name["rejected_share_below"].severity == "warn"
    assert by_name["rejected_share_below"].examples == ["export.csv: 2 of 5 lines"]
    assert "2 of 5 flexlm lines (40.0%)" in outcome.message


@pytest.mark.parametrize(
    ("suite_name", "column", "bad_value", "expectation"),
    [
        ("raw_entitlements", "license_model", "floating", "expect_column_values_to_be_in_set"),
        ("raw_entitlements", "currency", "euro", "expect_column_values_to_match_regex"),
        ("raw_okta_events", "uuid", None, "expect_column_values_to_not_be_null"),
        ("raw_salesforce_login_history", "username", None, "expect_column_values_to_not_be_null"),
        ("raw_slack_members", "days_active", 400, "expect_column_values_to_be_between"),
    ],
)
def test_raw_suite_dirty_fails(con, suite_name, column, bad_value, expectation):
    table, source, rows = RAW_CASES[suite_name]
    rows = copy.deepcopy(rows)
    rows[0][column] = bad_value
    land_rows(con, table, rows, source=source)

    outcome = validate_table(con, suite_name)

    assert not outcome.passed
    assert outcome.severity == "ERROR"
    [result] = failed(outcome)
    assert result.expectation == f"{expectation}({column})"
    assert result.unexpected_count == 1
    assert "failed 1 of" in outcome.message


def test_daily_usage_dirty_fails(con):
    rows = [
        *USAGE_ROWS,
        (None, "m365", date(2024, 4, 30), 10.0, 1),
        ("sam.lee@example.com", "m365", date(2024, 4, 30), 1500.0, 1),
        ("sam.lee@example.com", "m365", date(2024, 5, 2), 10.0, 1),
    ]
    build_daily_usage(con, rows)

    outcome = validate_table(con, "fct_daily_usage", parameters={"as_of": AS_OF})

    by_name = {r.expectation: r for r in failed(outcome)}
    assert set(by_name) == {
        "expect_column_values_to_not_be_null(user_key)",
        "expect_column_values_to_be_between(minutes)",
        "expect_column_values_to_be_between(usage_date)",
    }
    assert by_name["expect_column_values_to_be_between(minutes)"].examples == [1500.0]
    assert by_name["expect_column_values_to_be_between(usage_date)"].examples == ["2024-05-02"]
    assert outcome.severity == "ERROR"


def test_daily_usage_without_as_of_fails_clearly(con):
    build_daily_usage(con, USAGE_ROWS)

    outcome = validate_table(con, "fct_daily_usage", parameters={"as_of": None})

    [result] = failed(outcome)
    assert result.expectation == "expect_column_values_to_be_between(usage_date)"
    assert result.severity == "error"
    assert "parameter 'as_of' is missing" in result.detail
    assert "--as-of YYYY-MM-DD" in outcome.message
    assert outcome.severity == "ERROR"
    assert len(outcome.results) == 6


def test_missing_parameter_keeps_placeholder():
    """Load-time row rules skip an expectation whose bound is still a placeholder."""
    suite = load_suite("fct_daily_usage")

    [expectation] = [e for e in suite.expectations if e.missing_parameters]
    assert expectation.missing_parameters == ("as_of",)
    assert expectation.kwargs["max_value"] == {"$PARAMETER": "as_of"}


def test_large_table_counts_full_table(con):
    """Above sample_rows, GX validates a sample but the counts cover every row."""
    rows = [
        (f"user{i}@example.com", "m365", date(2024, 4, 1), 2000.0 if i % 10 == 0 else 30.0, 1)
        for i in range(1000)
    ]
    build_daily_usage(con, rows)

    outcome = validate_table(con, "fct_daily_usage", parameters={"as_of": AS_OF}, sample_rows=100)

    assert outcome.sampled_rows == 100
    assert outcome.row_count == 1000
    [minutes] = failed(outcome)
    assert minutes.expectation == "expect_column_values_to_be_between(minutes)"
    assert minutes.unexpected_count == 100
    assert "100 of 1000 rows" in outcome.message


def test_user_features_range_warns(con):
    build_user_features(con, [3, 40, -2])

    outcome = validate_table(con, "user_features")

    assert outcome.passed
    assert outcome.severity == "WARN"
    assert failed(outcome)[0].examples == [-2]


def test_missing_table_fails(con):
    outcome = validate_table(con, "fct_daily_usage", parameters={"as_of": AS_OF})

    assert not outcome.passed
    assert "main_marts.fct_daily_usage not found" in outcome.message


def test_examples_are_json(con):
    rows = copy.deepcopy(FLEXLM_ROWS)
    rows[1]["event_at"] = datetime(1999, 1, 1)
    land_rows(con, "flexlm_events", rows, source="flexlm")

    outcome = validate_table(con, "raw_flexlm_events")

    assert json.loads(json.dumps([r.examples for r in outcome.results])) is not None


def test_m365_clean_export_after_concealed_passes(con):
    concealed = [
        {
            "report_refresh_date": date(2024, 4, 1),
            "user_principal_name": f"{i:032X}",
            "is_concealed": True,
        }
        for i in range(1, 5)
    ]
    clean = [{**row, "report_refresh_date": date(2024, 5, 1)} for row in M365_ROWS]
    land_rows(con, "m365_active_user_detail", concealed + clean, source="m365")

    outcome = validate_table(con, "raw_m365_active_user_detail")

    assert outcome.passed, outcome.message


def test_any_hr_reject_warns(con):
    land_rows(con, "hr_directory", HR_ROWS, source="hr")
    con.execute("update raw.loaded_files set rows_rejected = 1, records_total = records_total + 1")

    outcome = validate_table(con, "raw_hr_directory")

    assert outcome.passed
    assert outcome.severity == "WARN"
    assert "see raw.rejects" in outcome.message
