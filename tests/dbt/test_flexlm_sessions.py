"""dbt marts on the real MATLAB FlexLM debug log, loaded through the real loader.

In that log user014 on WS-029 checks MATLAB out about 40 times within 4 s and again an hour
later, and several users run MATLAB on many hosts at once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from licpipe.checks.suites import validate_table
from licpipe.loading import load_source
from tests.dbt.raw_fixture import run_dbt

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MATLAB_LOG = FIXTURES / "flexlm" / "mlm_matlab_debug.log"
# An HR row for every OS login in the log, so its sessions resolve to people.
HR_HEADER = "employee_id,email,username,department,status\n"
HR_ROWS = "".join(
    f"E{number:03d},user{number:03d}@example.com,user{number:03d},Engineering,active\n"
    for number in range(1, 41)
)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("matlab")
    landing = root / "landing"
    (landing / "flexlm").mkdir(parents=True)
    shutil.copy(MATLAB_LOG, landing / "flexlm" / MATLAB_LOG.name)
    (landing / "hr").mkdir()
    (landing / "hr" / "hr_directory.csv").write_text(HR_HEADER + HR_ROWS)
    path = root / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        for source in ("flexlm", "hr"):
            summary = load_source(con, source, landing)
            assert not summary.failures, summary.failures

    result = run_dbt(path, "build")
    assert result.returncode == 0, result.stdout[-4000:]
    return path


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_daily_minutes_at_most_a_day(warehouse):
    [(max_minutes, rows)] = query(
        warehouse, "select max(minutes), count(*) from main_marts.fct_daily_usage"
    )

    assert rows > 0
    assert max_minutes <= 1440


def test_daily_usage_suite_passes(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(as_of,)] = con.execute("select as_of_date from main_marts.as_of_date").fetchall()
        outcome = validate_table(con, "fct_daily_usage", parameters={"as_of": as_of})

    assert outcome.passed, outcome.message
    assert outcome.severity is None, outcome.message


def test_repeated_checkouts_one_span(warehouse):
    spans = query(
        warehouse,
        "select checkouts from main_intermediate.int_flexlm_sessions_merged "
        "where user_name = 'user014' and host = 'WS-029' and feature = 'MATLAB'",
    )
    raw_sessions = query(
        warehouse,
        "select count(*) from raw.flexlm_sessions "
        "where user_name = 'user014' and host = 'WS-029' and feature = 'MATLAB'",
    )

    assert len(spans) == 1
    assert spans[0][0] > 1
    # The raw table keeps every checkout; only the models merge them.
    assert raw_sessions[0][0] > 40


def test_user014_holds_one_seat(warehouse):
    hours = query(
        warehouse,
        """
        select count(*)
        from main_intermediate.int_flexlm_sessions_merged
        where user_name = 'user014' and feature = 'MATLAB'
            and checkout_at < timestamp '2022-06-09 11:00:00'
            and held_until > timestamp '2022-06-09 10:44:00'
        """,
    )

    assert hours == [(1,)]


def test_peak_within_user_hosts(warehouse):
    """Each user@host holds one MATLAB seat at a time, so no hour's peak exceeds the
    user@host pairs holding the feature in that hour."""
    over = query(
        warehouse,
        """
        with holders as (
            select
                spans.feature,
                grid.hour_start,
                count(distinct (spans.user_name, spans.host)) as user_hosts,
            from main_intermediate.int_flexlm_sessions_merged as spans,
                unnest(
                    generate_series(
                        date_trunc('hour', spans.checkout_at),
                        date_trunc('hour', spans.held_until),
                        interval 1 hour
                    )
                ) as grid(hour_start)
            group by all
        )
        select concurrency.feature, concurrency.hour_start,
            concurrency.peak_concurrent_seats, holders.user_hosts
        from main_marts.fct_concurrency as concurrency
        join holders using (feature, hour_start)
        where concurrency.peak_concurrent_seats > holders.user_hosts
        order by 1, 2
        """,
    )
    peak = query(
        warehouse,
        "select max(peak_concurrent_seats) from main_marts.fct_concurrency "
        "where feature = 'MATLAB'",
    )

    assert over == []
    assert peak[0][0] > 0
