"""The Dagster code location: graph shape, the landing sensor and writers sharing the file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
from dagster import AssetKey, RunRequest, SkipReason, build_sensor_context

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _definitions(monkeypatch, tmp_path):
    monkeypatch.setenv("LICPIPE_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("LICPIPE_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    from licpipe.definitions import defs

    return defs


def test_graph_has_every_stage(monkeypatch, tmp_path):
    graph = _definitions(monkeypatch, tmp_path).resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}

    for expected in (
        "raw/hr_directory",
        "raw/flexlm_events",
        "raw/m365_active_user_detail",
        "marts/fct_daily_usage",
        "marts/fct_concurrency",
        "marts/fct_license_positions",
        "usage_tiers",
        "demand_forecasts",
        "upgrade_predictions",
        "provisioning_predictions",
        "recommendations",
        "savings_summary",
        "analytics_snapshot",
    ):
        assert expected in keys, f"{expected} missing from the asset graph"


def test_marts_feed_models(monkeypatch, tmp_path):
    graph = _definitions(monkeypatch, tmp_path).resolve_asset_graph()

    parents = graph.get(AssetKey("user_features")).parent_keys

    assert AssetKey(["marts", "fct_daily_usage"]) in parents


def test_quality_checks_block(monkeypatch, tmp_path):
    graph = _definitions(monkeypatch, tmp_path).resolve_asset_graph()
    blocking = {
        key.asset_key.to_user_string()
        for key in graph.asset_check_keys
        if graph.get_check_spec(key).blocking and key.name == "expectations_suite"
    }

    assert {"raw/hr_directory", "raw/m365_active_user_detail", "raw/flexlm_events"} <= blocking
    assert "marts/fct_daily_usage" in blocking


def test_jobs_and_schedules(monkeypatch, tmp_path):
    defs = _definitions(monkeypatch, tmp_path)

    assert defs.resolve_job_def("nightly") is not None
    assert defs.resolve_job_def("retrain") is not None
    assert defs.resolve_schedule_def("nightly_schedule").cron_schedule == "0 2 * * *"
    assert defs.resolve_schedule_def("monthly_retrain").cron_schedule == "0 4 1 * *"


def test_sensor_runs_only_new_sources(monkeypatch, tmp_path):
    from licpipe.sensors import landing_sensor

    landing = tmp_path / "landing"
    (landing / "hr").mkdir(parents=True)
    (landing / "hr" / "hr_directory.csv").write_text("employee_id,email\nE1,a@example.com\n")
    monkeypatch.setenv("LICPIPE_LANDING", str(landing))

    first = list(landing_sensor(build_sensor_context()))
    request = first[0]
    assert isinstance(request, RunRequest)
    keys = {key.to_user_string() for key in request.asset_selection}
    assert "raw/hr_directory" in keys
    assert "raw/flexlm_events" not in keys
    assert "recommendations" in keys

    cursor = build_sensor_context(cursor=None)
    list(landing_sensor(cursor))
    again = list(landing_sensor(build_sensor_context(cursor=cursor.cursor)))
    assert isinstance(again[0], SkipReason)


def test_sensor_reads_folder_names_case_insensitively(monkeypatch, tmp_path):
    from licpipe.sensors import landing_sensor

    landing = tmp_path / "landing"
    (landing / "HR").mkdir(parents=True)
    (landing / "HR" / "hr_directory.csv").write_text("employee_id,email\nE1,a@example.com\n")
    monkeypatch.setenv("LICPIPE_LANDING", str(landing))

    request = list(landing_sensor(build_sensor_context()))[0]
    keys = {key.to_user_string() for key in request.asset_selection}

    assert "raw/hr_directory" in keys


WRITER = textwrap.dedent(
    """
    import sys
    from dagster import AssetKey, materialize
    from licpipe.assets.raw import raw_assets
    from licpipe.resources import build_resources

    name = sys.argv[1]
    asset = next(a for a in raw_assets if a.node_def.name == name)
    result = materialize([asset], resources=build_resources(), raise_on_error=False)
    sys.exit(0 if result.success else 1)
    """
)


def test_two_writers_take_turns(tmp_path):
    """Two processes writing the same warehouse at once both succeed, one after the other."""
    landing = tmp_path / "landing"
    for folder, fixture in (("hr", "hr"), ("entitlements", "entitlements")):
        (landing / folder).mkdir(parents=True)
        for path in sorted((FIXTURES / fixture).glob("*.csv"))[:3]:
            (landing / folder / path.name).write_bytes(path.read_bytes())
    env = {
        **os.environ,
        "LICPIPE_LANDING": str(landing),
        "LICPIPE_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("raw_hr", "raw_entitlements")
    ]
    outputs = [process.communicate(timeout=300) for process in processes]

    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-2000:]
        assert "Could not set lock" not in stderr
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        sources = {row[0] for row in con.execute("select source from raw.loaded_files").fetchall()}
    finally:
        con.close()
    assert {"hr", "entitlements"} <= sources
