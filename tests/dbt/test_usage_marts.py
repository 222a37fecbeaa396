"""dbt usage marts on small synthetic exports: FlexLM sessions, Microsoft 365, SaaS logins."""

from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
import pytest

from tests.dbt.raw_fixture import create_raw_schema, insert_rows, run_dbt

HR_ROWS = [
    {
        "employee_id": "E1",
        "email": "jane.doe@example.com",
        "username": "JDoe",
        "department": "Engineering",
        "status": "active",
    },
    {
        "employee_id": "E2",
        "email": "sam.lee@example.com",
        "username": "slee",
        "department": "Engineering",
        "status": "terminated",
        "termination_date": date(2024, 3, 31),
    },
    {
        "employee_id": "E3",
        "email": "kim.park@example.com",
        "username": "kpark",
        "department": "Design",
        "status": "On Leave",
    },
]

CAD = {"server": "licsrv01", "daemon": "acmed", "feature": "CAD_PRO"}

SESSION_ROWS = [
    {
        **CAD,
        "user_name": "jdoe",
        "host": "ws-001",
        "seats": 1,
        "checkout_at": datetime(2024, 3, 30, 10, 1, 15),
        "checkin_at": datetime(2024, 3, 31, 8, 2, 0),
        "end_reason": "server_died",
    },
    {
        **CAD,
        "user_name": "slee",
        "host": "ws-002",
        "seats": 1,
        "checkout_at": datetime(2024, 3, 30, 23, 55, 41),
        "checkin_at": datetime(2024, 3, 31, 0, 12, 9),
        "duration_seconds": 988.0,
        "end_reason": "checkin",
    },
    {
        **CAD,
        "user_name": "First.Last",
        "host": "ws-004",
        "seats": 2,
        "checkout_at": datetime(2024, 3, 31, 7, 45, 12),
        "end_reason": "open_at_end_of_file",
    },
]

EVENT_ROWS = [
    {
        **CAD,
        "event_type": "DENIED",
        "event_at": datetime(2024, 3, 31, 0, 20, 30),
        "user_name": "user3",
        "host": "ws-003",
        "reason": "Licensed number of users already reached.",
        "error_code": "-4,342",
    },
]

M365_ROWS = [
    {
        "report_refresh_date": date(2024, 3, 30),
        "report_date": date(2024, 3, 30),
        "user_principal_name": "Jane.Doe@example.com",
        "is_deleted": False,
        "exchange_last_activity_date": date(2024, 3, 30),
        "teams_last_activity_date": date(2024, 3, 30),
        "exchange_license_assign_date": date(2023, 6, 1),
        "assigned_products": "MICROSOFT 365 E3",
    },
    {
        "report_refresh_date": date(2024, 3, 31),
        "report_date": date(2024, 3, 31),
        "user_principal_name": "Jane.Doe@example.com",
        "is_deleted": False,
        "exchange_last_activity_date": date(2024, 3, 30),
        "exchange_license_assign_date": date(2023, 6, 1),
        "assigned_products": "MICROSOFT 365 E3+POWER BI PRO+CONTOSO MYSTERY SUITE",
    },
    {
        "report_refresh_date": date(2024, 3, 31),
        "report_date": date(2024, 3, 31),
        "user_principal_name": "svc-backup@example.com",
        "is_deleted": False,
        "exchange_last_activity_date": date(2024, 3, 31),
        "assigned_products": "MICROSOFT 365 E3",
    },
]

VIEWER_SNAPSHOT = {
    "snapshot_at": datetime(2024, 3, 31, 12, 30),
    "server": "27000@LICSRV01",
    "vendor": "acmed",
    "feature": "CAD_VIEW",
}

OKTA_EVENT = {
    "event_type": "user.authentication.sso",
    "actor_alternate_id": "jane.doe@example.com",
    "app_display_name": "Adobe Creative Cloud",
    "outcome_result": "SUCCESS",
}

SALESFORCE_LOGIN = {
    "username": "jane.doe@example.com.acme",
    "login_time": datetime(2024, 3, 31, 9, 15),
    "source_ip": "10.0.0.5",
    "status": "Success",
}

PURCHASE_LINES = [
    {
        "vendor": "Microsoft",
        "application": "Microsoft 365",
        "sku": "Microsoft 365 E3",
        "license_model": "named",
        "seats": 2,
        "unit_price": 432,
        "price_period": "year",
        "currency": "USD",
        "term_start": date(2024, 1, 1),
        "term_end": date(2024, 12, 31),
        "renewal_date": date(2025, 1, 1),
    },
    {
        "vendor": "Microsoft",
        "application": "Microsoft 365",
        "sku": "Microsoft 365 E3",
        "license_model": "named",
        "seats": 1,
        "unit_price": 36,
        "price_period": "month",
        "currency": "USD",
        "term_start": date(2024, 3, 31),
        "term_end": date(2025, 3, 30),
        "renewal_date": date(2025, 3, 31),
    },
    {
        "vendor": "Acme",
        "application": "AcmeCAD",
        "sku": "CAD_PRO",
        "license_model": "concurrent",
        "feature": "CAD_PRO",
        "seats": 2,
        "unit_price": 300,
        "price_period": "month",
        "currency": "USD",
        "term_start": date(2024, 1, 1),
        "term_end": date(2024, 12, 31),
    },
]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """Load the synthetic exports, with overlapping second copies, and build once."""
    path = tmp_path_factory.mktemp("usage") / "warehouse.duckdb"
    create_raw_schema(path)

    insert_rows(path, "hr_directory", HR_ROWS, source_file="hr/hr.csv")

    insert_rows(path, "flexlm_sessions", SESSION_ROWS, source_file="flexlm/a.log")
    # A second copy of the same log overlaps the first: its sessions must count once.

    insert_rows(
        path,
        "flexlm_sessions",
        SESSION_ROWS[1:2],
        source_file="flexlm/a_copy.log",
        loaded_at=datetime(2024, 4, 1, 6, 0),
    )

    insert_rows(path, "flexlm_events", EVENT_ROWS, source_file="flexlm/a.log")

    insert_rows(path, "m365_active_user_detail", M365_ROWS, source_file="m365/daily.csv")

    snapshot = {
        "snapshot_at": datetime(2024, 3, 31, 7, 30),
        "server": "27000@licsrv01",
        "vendor": "acmed",
        "feature": "CAD_PRO",
    }

    insert_rows(
        path,
        "lmstat_checkouts",
        [
            {**snapshot, "user_name": "jdoe", "host": "ws-001", "seats": 1, "kind": "checkout"},
            {**snapshot, "seats": 2, "kind": "reservation", "reserved_for": "kpark"},
            # A feature no debug log and no catalog row names.
            {**VIEWER_SNAPSHOT, "user_name": "kpark", "seats": 1, "kind": "checkout"},
            {**VIEWER_SNAPSHOT, "user_name": "jdoe", "seats": 2, "kind": "checkout"},
        ],
        source_file="flexlm/lmstat_a_20240331.txt",
    )

    insert_rows(
        path,
        "lmstat_features",
        [
            {**snapshot, "issued": 10, "in_use": 3},
            {**VIEWER_SNAPSHOT, "issued": 4, "in_use": 3},
        ],
        source_file="flexlm/lmstat_a_20240331.txt",
    )

    insert_rows(
        path,
        "okta_events",
        [
            {**OKTA_EVENT, "uuid": "e1", "published_at": datetime(2024, 3, 30, 9, 0)},
            {**OKTA_EVENT, "uuid": "e2", "published_at": datetime(2024, 3, 31, 9, 0)},
            {
                **OKTA_EVENT,
                "uuid": "e3",
                "published_at": datetime(2024, 3, 31, 9, 5),
                "outcome_result": "FAILURE",
            },
        ],
        source_file="okta/system_log_2024-03.ndjson",
    )

    insert_rows(
        path,
        "okta_events",
        [{**OKTA_EVENT, "uuid": "e1", "published_at": datetime(2024, 3, 30, 9, 0)}],
        source_file="okta/system_log_2024-04.ndjson",
        loaded_at=datetime(2024, 4, 1, 6, 0),
    )

    insert_rows(
        path,
        "salesforce_users",
        [
            {
                "user_id": "005A",
                "username": "jane.doe@example.com.acme",
                "email": "jane.doe@example.com",
                "is_active": True,
                "user_license": "Salesforce",
            }
        ],
        source_file="salesforce/User.csv",
    )

    insert_rows(
        path,
        "salesforce_login_history",
        [
            SALESFORCE_LOGIN,
            {**SALESFORCE_LOGIN, "status": "Invalid Password", "source_ip": "x"},
            # No User export row: the username is the HR e-mail plus a suffix.
            {
                **SALESFORCE_LOGIN,
                "username": "sam.lee@example.com.acme",
                "login_time": datetime(2024, 3, 30, 8, 0),
            },
        ],
        source_file="salesforce/LoginHistory.csv",
    )

    insert_rows(
        path,
        "salesforce_login_history",
        [SALESFORCE_LOGIN],
        source_file="salesforce/LoginHistory_again.csv",
        loaded_at=datetime(2024, 4, 1, 6, 0),
    )

    insert_rows(
        path,
        "slack_members",
        [
            {
                "window_start": date(2024, 3, 31),
                "window_end": date(2024, 3, 31),
                "email": "jane.doe@example.com",
                "days_active": 1,
                "messages_posted": 5,
                "billing_active": True,
            },
            {
                "window_start": date(2024, 3, 1),
                "window_end": date(2024, 3, 31),
                "email": "kim.park@example.com",
                "days_active": 3,
                "last_active_on": date(2024, 3, 15),
                "billing_active": True,
            },
        ],
        source_file="slack/members.csv",
    )

    insert_rows(path, "entitlements", PURCHASE_LINES, source_file="entitlements/e.csv")

    insert_rows(
        path,
        "installs",
        [
            {
                "device_id": "D1",
                "application_name": "AcmeCAD 2024",
                "installed_on": date(2024, 1, 5),
            },
            {
                "device_id": "D2",
                "application_name": "AcmeCAD 2024",
                "installed_on": date(2024, 1, 5),
            },
            {
                "device_id": "D3",
                "application_name": "7-Zip 23.01",
                "installed_on": date(2024, 1, 5),
            },
            {
                "device_id": "D1",
                "application_name": "Slack 4.36",
                "installed_on": date(2024, 2, 1),
            },
        ],
        source_file="installs/AppInvRawData.csv",
    )

    result = run_dbt(path, "build")
    assert result.returncode == 0, result.stdout[-4000:]
    return path


def rows(warehouse, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_as_of_date_from_data(warehouse):
    assert rows(warehouse, "select as_of_date from main_marts.as_of_date") == [(date(2024, 3, 31),)]


def test_overlapping_copies_count_once(warehouse):
    sessions = rows(warehouse, "select count(*) from main_staging.stg_flexlm__sessions")
    assert sessions == [(3,)]
    logins = rows(warehouse, "select count(*) from main_staging.stg_salesforce__logins")
    assert logins == [(3,)]
    okta = rows(warehouse, "select count(*) from main_staging.stg_okta__events")
    assert okta == [(3,)]


def test_flexlm_minutes_split_at_midnight(warehouse):
    minutes = rows(
        warehouse,
        "select usage_date, round(minutes, 4), sessions from main_marts.fct_daily_usage "
        "where user_key = 'sam.lee@example.com' and application_id = 'acmecad' "
        "order by usage_date",
    )
    assert minutes == [
        (date(2024, 3, 30), round(259 / 60, 4), 1),
        (date(2024, 3, 31), round(729 / 60, 4), 0),
    ]


def test_flexlm_login_resolves_by_hr_username(warehouse):
    methods = dict(
        rows(
            warehouse,
            "select raw_identity, match_method from main_intermediate.int_identities "
            "where source = 'flexlm'",
        )
    )
    assert methods["jdoe"] == "hr_username"
    assert methods["slee"] == "hr_username"
    assert methods["First.Last"] == "unmatched"
    assert methods["user3"] == "unmatched"


def test_unmatched_login_is_counted(warehouse):
    counted = rows(
        warehouse,
        "select rows, is_concealed from main_intermediate.int_unmatched_identities "
        "where source = 'flexlm' and raw_identity = 'First.Last'",
    )
    assert counted == [(1, False)]


def test_peak_concurrency_sweeps_seats(warehouse):
    hours = rows(
        warehouse,
        "select hour_start, peak_concurrent_seats, checkouts, denials, distinct_users "
        "from main_marts.fct_concurrency where feature = 'CAD_PRO' "
        "and hour_start in ('2024-03-30 10:00', '2024-03-30 23:00', '2024-03-31 00:00', "
        "'2024-03-31 05:00', '2024-03-31 07:00') order by hour_start",
    )
    assert hours == [
        (datetime(2024, 3, 30, 10), 1, 1, 0, 1),
        (datetime(2024, 3, 30, 23), 2, 1, 0, 2),
        (datetime(2024, 3, 31, 0), 2, 0, 1, 2),
        (datetime(2024, 3, 31, 5), 1, 0, 0, 1),
        (datetime(2024, 3, 31, 7), 3, 1, 0, 2),
    ]


def test_concurrency_hours_are_continuous(warehouse):
    count = rows(
        warehouse,
        "select count(*), count(distinct feature_key), min(application_id) "
        "from main_marts.fct_concurrency where feature = 'CAD_PRO'",
    )
    # 10:00 on 03-30 to 08:00 on 03-31 inclusive.
    assert count == [(23, 1, "acmecad")]


def test_m365_active_only_on_matching_date(warehouse):
    days = rows(
        warehouse,
        "select usage_date, features_used from main_marts.fct_daily_usage "
        "where user_key = 'jane.doe@example.com' and application_id = 'm365'",
    )
    assert days == [(date(2024, 3, 30), 2)]


def test_saas_usage_days(warehouse):
    usage = rows(
        warehouse,
        "select user_key, application_id, usage_date, sessions, events "
        "from main_marts.fct_daily_usage where application_id in ('adobe_cc', 'salesforce', "
        "'slack') order by 1, 2, 3",
    )
    assert usage == [
        ("jane.doe@example.com", "adobe_cc", date(2024, 3, 30), 1, 1),
        ("jane.doe@example.com", "adobe_cc", date(2024, 3, 31), 1, 1),
        ("jane.doe@example.com", "salesforce", date(2024, 3, 31), 1, 1),
        ("jane.doe@example.com", "slack", date(2024, 3, 31), 0, 5),
        ("kim.park@example.com", "slack", date(2024, 3, 15), 0, 1),
        ("sam.lee@example.com", "salesforce", date(2024, 3, 30), 1, 1),
    ]


def test_user_flags(warehouse):
    flags = rows(
        warehouse,
        "select user_key, hr_status, is_service_account, is_exempt_from_reclamation "
        "from main_marts.dim_users order by 1",
    )
    assert flags == [
        ("jane.doe@example.com", "active", False, False),
        ("kim.park@example.com", "leave", False, True),
        ("sam.lee@example.com", "terminated", False, False),
        ("svc-backup@example.com", "unknown", True, False),
    ]


def test_unknown_product_is_surfaced(warehouse):
    unmapped = rows(
        warehouse,
        "select source, raw_name, rows from main_intermediate.int_unmapped_applications "
        "order by 1, 2",
    )
    assert ("m365", "CONTOSO MYSTERY SUITE", 1) in unmapped
    assert ("installs", "7-Zip 23.01", 1) in unmapped
    assert all(name != "MICROSOFT 365 E3" for _, name, _ in unmapped)


def test_assignments_by_source(warehouse):
    assigned = rows(
        warehouse,
        "select user_key, sku, source, assigned_on from main_marts.fct_license_assignments "
        "order by 1, 2",
    )
    assert assigned == [
        ("jane.doe@example.com", "Microsoft 365 E3", "m365", date(2023, 6, 1)),
        ("jane.doe@example.com", "Power BI Pro", "m365", date(2023, 6, 1)),
        # The Salesforce User export has no licence date, and the load time is not used.
        ("jane.doe@example.com", "Sales Cloud Enterprise", "salesforce", None),
        ("jane.doe@example.com", "Slack Business+", "slack", date(2024, 3, 31)),
        ("kim.park@example.com", "Slack Business+", "slack", date(2024, 3, 1)),
        ("svc-backup@example.com", "Microsoft 365 E3", "m365", date(2024, 3, 31)),
    ]


def test_sku_prices_and_seats(warehouse):
    skus = rows(
        warehouse,
        "select sku, seats_owned, monthly_unit_price, renewal_date from main_marts.dim_skus "
        "where is_purchased order by 1",
    )
    assert skus == [
        ("CAD_PRO", 2, 300, None),
        ("Microsoft 365 E3", 3, 36, date(2025, 1, 1)),
    ]


def test_positions_follow_purchase_terms(warehouse):
    positions = rows(
        warehouse,
        "select position_date, seats_owned, seats_assigned, active_30d, installed, seats_gap "
        "from main_marts.fct_license_positions where sku = 'Microsoft 365 E3' "
        "and position_date in ('2024-03-30', '2024-03-31') order by 1",
    )
    assert positions == [
        (date(2024, 3, 30), 2, 1, 1, 0, 1),
        (date(2024, 3, 31), 3, 2, 2, 0, 1),
    ]


def test_concurrent_pool_counts_users_and_installs(warehouse):
    positions = rows(
        warehouse,
        "select seats_owned, seats_assigned, active_30d, installed "
        "from main_marts.fct_license_positions where sku = 'CAD_PRO' "
        "and position_date = '2024-03-31'",
    )
    assert positions == [(2, 0, 2, 2)]


def test_installs_map_per_program(warehouse):
    installed = rows(
        warehouse,
        "select sku, installed from main_marts.fct_license_positions "
        "where position_date = '2024-03-31' and installed > 0 order by 1",
    )
    assert installed == [("CAD_PRO", 2), ("Slack Business+", 1)]


def test_lmstat_snapshot_beside_log_peak(warehouse):
    hours = rows(
        warehouse,
        "select hour_start, snapshot_seats_in_use, snapshot_seats_issued "
        "from main_marts.fct_concurrency where snapshot_seats_issued is not null "
        "and feature = 'CAD_PRO'",
    )
    assert hours == [(datetime(2024, 3, 31, 7), 1, 10)]


def test_snapshot_only_feature_has_hours(warehouse):
    hours = rows(
        warehouse,
        "select feature_key, hour_start, peak_concurrent_seats, checkouts, distinct_users, "
        "snapshot_seats_in_use, snapshot_seats_issued, application_id "
        "from main_marts.fct_concurrency where feature = 'CAD_VIEW'",
    )
    # The snapshot's upper-case host takes the debug log's spelling.
    assert hours == [
        ("licsrv01/acmed/CAD_VIEW", datetime(2024, 3, 31, 12), 3, 0, 2, 3, 4, None),
    ]


def test_unmapped_feature_names_daemon(warehouse):
    unmapped = rows(
        warehouse,
        "select rows, example_values from main_intermediate.int_unmapped_applications "
        "where source = 'flexlm' and raw_name = 'CAD_VIEW'",
    )
    assert unmapped == [(3, "daemon acmed")]


def test_snapshot_user_resolves(warehouse):
    methods = rows(
        warehouse,
        "select match_method, user_key from main_intermediate.int_identities "
        "where source = 'flexlm' and raw_identity = 'kpark'",
    )
    assert methods == [("hr_username", "kim.park@example.com")]


def test_unmapped_names_warn(warehouse):
    results = json.loads((warehouse.parent / "dbt_target" / "run_results.json").read_text())
    statuses = {
        result["unique_id"].split(".")[2]: result["status"] for result in results["results"]
    }
    assert statuses["unmapped_applications_warn"] == "warn"
