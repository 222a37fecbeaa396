"""dbt build on Teams, apps, Entra, Google, Zoom, Atlassian, Slack billing and Okta exports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from licpipe.loading import ensure_raw_tables
from tests.dbt.raw_fixture import read_export_rows, run_dbt

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dbt"
FIRST_LOAD = datetime(2024, 5, 1, 6, 0)
SECOND_LOAD = datetime(2024, 5, 2, 6, 0)


def insert_loader_rows(
    warehouse: Path,
    table: str,
    rows: Iterable[Mapping[str, Any]],
    source_file: str,
    loaded_at: datetime,
) -> None:
    """Append `rows` to a table of the loader's raw schema, with lineage filled in."""
    rows = list(rows)
    with duckdb.connect(str(warehouse)) as con:
        for line_number, row in enumerate(rows, start=2):
            record = {
                **row,
                "_source_file": source_file,
                "_file_sha256": f"sha-{source_file}",
                "_line_number": line_number,
                "_loaded_at": loaded_at,
            }
            names = ", ".join(f'"{name}"' for name in record)
            placeholders = ", ".join("?" for _ in record)
            con.execute(
                f'insert into raw."{table}" ({names}) values ({placeholders})',
                list(record.values()),
            )


def load(warehouse: Path, table: str, fixture: str, loaded_at: datetime) -> None:
    """Load a fixture file as one export loaded at `loaded_at`."""
    rows = read_export_rows(FIXTURES / fixture)
    insert_loader_rows(warehouse, table, rows, f"{table}/{loaded_at:%Y%m%d}_{fixture}", loaded_at)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """Build the project once on overlapping exports of every added source."""
    path = tmp_path_factory.mktemp("more_sources") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        ensure_raw_tables(con)

    load(path, "hr_directory", "more_hr_directory.csv", FIRST_LOAD)
    load(path, "m365_active_user_detail", "more_m365_active_user_detail.csv", FIRST_LOAD)
    # Each export below is loaded twice, as overlapping pulls repeat their rows.
    for loaded_at in (FIRST_LOAD, SECOND_LOAD):
        load(path, "m365_teams_user_activity", "more_m365_teams_activity.csv", loaded_at)
        load(path, "m365_app_user_detail", "more_m365_app_user_detail.csv", loaded_at)
        load(path, "m365_activations_user_detail", "more_m365_activations.csv", loaded_at)
        load(path, "m365_assigned_products", "more_m365_assigned_products.csv", loaded_at)
        load(path, "entra_signins", "more_entra_signins.csv", loaded_at)
        load(path, "entra_users", "more_entra_users.csv", loaded_at)
        load(path, "zoom_users", "more_zoom_users.csv", loaded_at)
        load(path, "atlassian_users", "more_atlassian_users.csv", loaded_at)
        load(path, "atlassian_product_access", "more_atlassian_product_access.csv", loaded_at)
        load(path, "slack_billing", "more_slack_billing.csv", loaded_at)
    load(path, "google_users", "more_google_users.csv", FIRST_LOAD)
    load(path, "google_users", "more_google_users_later.csv", SECOND_LOAD)
    load(path, "okta_users", "more_okta_users_full.csv", FIRST_LOAD)
    load(path, "okta_users", "more_okta_users_partial.csv", SECOND_LOAD)

    result = run_dbt(path, "build")
    assert result.returncode == 0, result.stdout[-4000:]
    return path


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def count(warehouse: Path, relation: str) -> int:
    return query(warehouse, f"select count(*) from {relation}")[0][0]


@pytest.mark.parametrize(
    ("model", "rows"),
    [
        ("stg_m365__teams_user_activities", 3),
        ("stg_m365__app_user_details", 3),
        ("stg_m365__user_activations", 2),
        ("stg_m365__assigned_products", 2),
        ("stg_entra__signins", 3),
        ("stg_entra__users", 1),
        ("stg_google__users", 2),
        ("stg_zoom__users", 1),
        ("stg_atlassian__users", 1),
        ("stg_atlassian__product_access", 2),
        ("stg_slack__billing", 2),
        ("stg_okta__user_exports", 2),
    ],
)
def test_staging_drops_overlap(warehouse, model, rows):
    assert count(warehouse, f"main_staging.{model}") == rows


def test_activations_keep_latest_refresh(warehouse):
    rows = query(
        warehouse,
        "select cast(last_activated_date as varchar), windows_activations "
        "from main_staging.stg_m365__user_activations where user_key = 'ann@example.com'",
    )
    assert rows == [("2024-04-30", 2)]


def test_teams_concealed_row_flagged(warehouse):
    rows = query(
        warehouse,
        "select user_key, is_concealed from main_staging.stg_m365__teams_user_activities "
        "where teams_user_id like '00000000-%'",
    )
    assert rows == [(None, True)]


def test_concealed_row_not_a_person(warehouse):
    methods = query(
        warehouse,
        "select match_method from main_intermediate.int_identities "
        "where raw_identity = '77E5979DD60BA6EAA53E814DBEEEFA5F'",
    )
    assert methods == [("concealed",)]
    assert count(warehouse, "main_marts.dim_users where user_key like '77e5%'") == 0


def test_entra_retry_keeps_success(warehouse):
    rows = query(
        warehouse,
        "select status, is_success from main_staging.stg_entra__signins where request_id = 'req-1'",
    )
    assert rows == [("Success", True)]


def test_google_keeps_every_sign_in_day(warehouse):
    days = query(
        warehouse,
        "select cast(sign_in_days as varchar[]) from main_staging.stg_google__users "
        "where user_key = 'gus@example.com'",
    )
    assert days == [(["2024-04-20", "2024-04-27"],)]


def daily_usage(warehouse: Path, user_key: str) -> list[tuple]:
    return query(
        warehouse,
        "select application_id, cast(usage_date as varchar), events, sessions, sources "
        f"from main_marts.fct_daily_usage where user_key = '{user_key}' "
        "order by application_id, usage_date",
    )


def test_teams_days_counted_once(warehouse):
    # 04-29 is in both the active user detail and the Teams report.
    assert daily_usage(warehouse, "ann@example.com") == [
        ("m365", "2024-04-29", 1, 0, "m365"),
        ("m365", "2024-04-30", 1, 0, "m365"),
    ]


def test_apps_state_is_one_day(warehouse):
    # Three reports and two loads restate the same last activity date.
    assert daily_usage(warehouse, "bob@example.com") == [("m365", "2024-04-28", 1, 0, "m365")]


def test_entra_sign_in_maps_to_app(warehouse):
    # The failed and the non-interactive Salesforce sign-ins are not usage.
    assert daily_usage(warehouse, "cat@example.com") == [("m365", "2024-04-30", 1, 1, "entra")]


def test_saas_last_seen_days(warehouse):
    assert daily_usage(warehouse, "gus@example.com") == [
        ("google_workspace", "2024-04-20", 1, 0, "google"),
        ("google_workspace", "2024-04-27", 1, 0, "google"),
    ]
    assert daily_usage(warehouse, "nel@example.com") == []
    assert daily_usage(warehouse, "zoe@example.com") == [("zoom", "2024-04-26", 1, 0, "zoom")]
    assert daily_usage(warehouse, "uma@example.com") == [
        ("atlassian_confluence", "2024-04-26", 1, 0, "atlassian"),
        ("atlassian_jira", "2024-04-25", 1, 0, "atlassian"),
    ]


def test_slack_billing_assigns_seat(warehouse):
    rows = query(
        warehouse,
        "select user_key, application_id, source from main_marts.fct_license_assignments "
        "where application_id = 'slack' order by user_key",
    )
    assert rows == [("dan@example.com", "slack", "slack")]


def test_deprovisioned_idp_status_lower_case(warehouse):
    rows = query(
        warehouse,
        "select idp_status from main_marts.dim_users where user_key = 'dan@example.com'",
    )
    assert rows == [("deprovisioned",)]


def test_partial_okta_snapshot_flagged(warehouse):
    flags = query(warehouse, "select distinct idp_snapshot_is_partial from main_marts.dim_users")
    assert flags == [(True,)]


def test_missing_from_okta_not_external(warehouse):
    # Gus is in no Okta export, but his domain is the HR domain.
    rows = query(
        warehouse,
        "select is_external, idp_status from main_marts.dim_users "
        "where user_key = 'gus@example.com'",
    )
    assert rows == [(False, None)]
