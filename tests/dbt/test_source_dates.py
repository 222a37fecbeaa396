"""The as-of date from every dated source, on exports loaded through the real loader.

A landing holding only one of these sources still gets an as-of date.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from licpipe.loading import load_source
from tests.dbt.raw_fixture import run_dbt

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXPORTS = {
    "flexlm": [FIXTURES / "flexlm" / "lmstat_a_reservations_queued.txt"],
    "okta": [FIXTURES / "okta" / "users.csv"],
    "slack": [FIXTURES / "slack" / "Acme Member Analytics Prior 30 Days - Apr 17, 2026.csv"],
    "m365": [
        FIXTURES / "m365" / "teams_user_activity_user_detail_concealed.csv",
        FIXTURES / "m365" / "office365_activations_user_detail_concealed.csv",
    ],
    "hr": [FIXTURES / "hr" / "header_aliases.csv"],
    "adobe": [FIXTURES / "adobe" / "mixed_case_emails.csv"],
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("source_dates")
    landing = root / "landing"
    for source, paths in EXPORTS.items():
        (landing / source).mkdir(parents=True)
        for path in paths:
            shutil.copy(path, landing / source / path.name)
    path = root / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        for source in EXPORTS:
            assert not load_source(con, source, landing).failures

    result = run_dbt(path, "build")
    assert result.returncode == 0, result.stdout[-4000:]
    return path


def query(warehouse: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, parameters or []).fetchall()


@pytest.mark.parametrize(
    ("source", "dataset", "date_kind"),
    [
        ("flexlm", "lmstat_features", "report"),
        ("flexlm", "lmstat_checkouts", "report"),
        ("okta", "users", "activity"),
        ("slack", "members", "report"),
        ("m365", "teams_user_activity", "report"),
        ("m365", "activations_user_detail", "report"),
        ("hr", "hire_dates", "directory"),
    ],
)
def test_source_gives_date(warehouse, source, dataset, date_kind):
    rows = query(
        warehouse,
        "select date_kind, latest_on from main_intermediate.int_source_dates "
        "where source = ? and dataset = ?",
        [source, dataset],
    )

    assert len(rows) == 1
    assert rows[0][0] == date_kind
    assert rows[0][1] is not None


def test_adobe_gives_no_date(warehouse):
    rows = query(
        warehouse, "select count(*) from main_intermediate.int_source_dates where source = 'adobe'"
    )

    assert rows == [(0,)]


def test_as_of_from_latest_usable_date(warehouse):
    [(as_of, latest, source)] = query(
        warehouse,
        "select as_of_date, latest_data_on, latest_data_source from main_marts.as_of_date",
    )
    [(expected,)] = query(
        warehouse,
        "select max(latest_on) from main_intermediate.int_source_dates "
        "where date_kind <> 'directory'",
    )

    assert as_of == expected
    assert latest == expected
    assert as_of <= date.today() + timedelta(days=1)
    assert not source.startswith("hr ")


def test_unit_tests_pass_with_as_of_var(warehouse):
    """A run with --as-of passes the as_of_date var, which no unit test may depend on."""
    result = run_dbt(
        warehouse, "test", "--select", "test_type:unit", "--vars", "{as_of_date: '2030-01-01'}"
    )

    assert result.returncode == 0, result.stdout[-4000:]
