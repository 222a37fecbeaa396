"""`licpipe run` on the two real FlexLM debug logs with a small HR file and entitlements."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.pipeline.conftest import run_cli, table_counts

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "flexlm"
LOGS = ("adskflex_autodesk_debug.log", "mlm_matlab_debug.log")
EVENT_LINE = re.compile(r"^\s*\d{1,2}:\d{2}:\d{2} \([^)]+\) (OUT|IN|DENIED):")

HR = """employee_id,email,username,first_name,last_name,department,role,hire_date,status
E1,user01@example.com,USER01,User,One,Engineering,Engineer,2014-01-06,active
E2,user04@example.com,USER04,User,Four,Engineering,Engineer,2014-01-06,active
"""
ENTITLEMENTS = """vendor,application,sku,license_model,feature,seats,unit_price,price_period,currency,term_start,term_end,renewal_date
Autodesk,AutoCAD,AutoCAD,concurrent,64300ACD_F,10,2100.00,year,EUR,2016-01-01,2016-12-31,2017-01-01
MathWorks,MATLAB,MATLAB,concurrent,MATLAB,25,1800.00,year,EUR,2021-01-01,2021-12-31,2022-01-01
"""


def _event_lines(path: Path) -> int:
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    return sum(1 for line in text.splitlines() if EVENT_LINE.match(line))


@pytest.fixture(scope="module")
def flexlm_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("flexlm")
    landing = root / "landing"
    (landing / "flexlm").mkdir(parents=True)
    for name in LOGS:
        shutil.copy(FIXTURES / name, landing / "flexlm" / name)
    (landing / "hr").mkdir()
    (landing / "hr" / "hr_directory.csv").write_text(HR)
    (landing / "entitlements").mkdir()
    (landing / "entitlements" / "entitlements.csv").write_text(ENTITLEMENTS)

    result = run_cli(
        "run", "--landing", str(landing), "--warehouse", str(root / "warehouse.duckdb")
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return root


def _query(path: Path, sql: str):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_event_line_lands(flexlm_run):
    expected = sum(_event_lines(FIXTURES / name) for name in LOGS)
    landed = _query(
        flexlm_run / "warehouse.duckdb",
        "select count(*) from raw.flexlm_events where event_type in ('OUT', 'IN', 'DENIED')",
    )[0][0]
    assert landed == expected


def test_no_event_before_first_date(flexlm_run):
    rows = _query(
        flexlm_run / "warehouse.duckdb",
        """
        select count(*)
        from raw.flexlm_events as e
        join (
            select _source_file, min(cast(event_at as date)) as first_day
            from raw.flexlm_server_events
            where event_type in ('start', 'timestamp')
            group by 1
        ) as f using (_source_file)
        where cast(e.event_at as date) < f.first_day - interval 1 day
        """,
    )
    assert rows[0][0] == 0


def test_no_negative_sessions(flexlm_run):
    negative = _query(
        flexlm_run / "warehouse.duckdb",
        "select count(*) from raw.flexlm_sessions where duration_seconds < 0",
    )[0][0]
    sessions = _query(flexlm_run / "warehouse.duckdb", "select count(*) from raw.flexlm_sessions")
    assert negative == 0
    assert sessions[0][0] > 0


def test_concurrency_and_forecasts_per_feature(flexlm_run):
    features = _query(
        flexlm_run / "analytics.duckdb",
        "select distinct feature from marts.fct_concurrency order by 1",
    )
    forecast_keys = _query(
        flexlm_run / "analytics.duckdb",
        "select distinct series_key from demand_forecasts where series_type = 'feature'",
    )
    names = {row[0] for row in features}
    assert {"64300ACD_F", "MATLAB"} <= names
    assert any(key.endswith("/MATLAB") for (key,) in forecast_keys)
    assert any(key.endswith("/64300ACD_F") for (key,) in forecast_keys)


def test_second_run_adds_nothing(flexlm_run):
    warehouse = flexlm_run / "warehouse.duckdb"
    before = table_counts(warehouse)
    result = run_cli("run", "--landing", str(flexlm_run / "landing"), "--warehouse", str(warehouse))
    assert result.returncode == 0, result.stderr[-5000:]
    assert table_counts(warehouse) == before
