"""The dbt project as Dagster assets: one `dbt build` per materialisation.

dbt runs as a subprocess (dagster-dbt's CLI resource), so no Dagster step holds a DuckDB
connection while it runs. The step holds licpipe's writer lock file for the whole build, because
dbt does not retry DuckDB's file lock. dbt tests surface as asset checks, each with a message,
and a test that warns or fails writes a row to `analytics.quality_alerts`.
"""

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetCheckResult, AssetExecutionContext, AssetKey, Failure
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    dbt_assets,
)

from licpipe import settings
from licpipe.checks.model_tests import describe_test_results
from licpipe.resources import AlertsResource, PipelineOptions, WarehouseResource
from licpipe.warehouse import writer_lock

MANIFEST_PATH = settings.DBT_PROJECT_DIR / "target" / "manifest.json"


def _project_files() -> list[Path]:
    root = settings.DBT_PROJECT_DIR
    files = [root / "dbt_project.yml"]
    for folder in ("models", "macros", "seeds", "tests", "snapshots"):
        files.extend(p for p in (root / folder).rglob("*") if p.is_file())
    return files


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing or older than any project file."""
    if MANIFEST_PATH.exists():
        built = MANIFEST_PATH.stat().st_mtime
        if all(p.stat().st_mtime <= built for p in _project_files()):
            return MANIFEST_PATH
    env = {**os.environ}
    # Parsing renders the profile but never opens the database.
    env.setdefault(settings.ENV_WAREHOUSE, str(settings.DEFAULT_DEMO_DIR / "warehouse.duckdb"))
    dbt = Path(sys.executable).with_name("dbt")
    parsed = subprocess.run(
        [
            str(dbt),
            "parse",
            "--quiet",
            "--project-dir",
            str(settings.DBT_PROJECT_DIR),
            "--profiles-dir",
            str(settings.DBT_PROJECT_DIR),
        ],
        env=env,
        cwd=settings.DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    if parsed.returncode != 0:
        output = "\n".join((parsed.stdout + parsed.stderr).strip().splitlines()[-12:])
        raise RuntimeError(
            f"dbt could not parse {settings.DBT_PROJECT_DIR} (exit {parsed.returncode}); fix "
            f"the model named below and retry:\n{output}"
        )
    return MANIFEST_PATH


class LicpipeDbtTranslator(DagsterDbtTranslator):
    """Key dbt sources as `raw/<table>` (the raw assets) and group models by layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey(["raw", dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        fqn = dbt_resource_props.get("fqn", [])
        for layer in ("staging", "intermediate", "marts"):
            if layer in fqn:
                return layer
        return "dbt"


translator = LicpipeDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def dbt_vars(options: PipelineOptions) -> str:
    values: dict[str, Any] = {"inactivity_days": options.inactivity_days}
    if options.as_of_date:
        values["as_of_date"] = options.as_of_date.isoformat()
    return json.dumps(values)


@dbt_assets(
    manifest=ensure_manifest(),
    dagster_dbt_translator=translator,
    pool="duckdb_writer",
)
def licpipe_dbt_models(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    options: PipelineOptions,
    alerts: AlertsResource,
):
    """Staging, intermediate and mart models with their tests, in one dbt invocation.

    Fails after the build when the data has no as-of date, because every mart check and model
    downstream counts from it.
    """
    # dbt reads the warehouse path from this variable in profiles.yml; the subprocess
    # inherits it, so Dagster and dbt always write the same file.
    os.environ[settings.ENV_WAREHOUSE] = str(warehouse.file)
    test_results: list[AssetCheckResult] = []
    # dbt writes in its own process, so it takes the writer lock here for its whole build.
    with writer_lock(warehouse.file, wait_seconds=warehouse.lock_wait_seconds):
        invocation = dbt.cli(
            ["build", "--vars", dbt_vars(options)], context=context, raise_on_error=False
        )
        for event in invocation.stream():
            # Test results wait for their messages, which need the database dbt holds.
            if isinstance(event, AssetCheckResult):
                test_results.append(event)
            else:
                yield event

    with warehouse.connect() as con:
        yield from describe_test_results(
            con,
            test_results,
            _run_results(invocation),
            invocation.manifest,
            webhook_url=alerts.webhook_url,
        )
        as_of = _as_of_date(con)

    error = invocation.get_error()
    if error is not None:
        raise error
    if as_of is None:
        raise Failure(
            description=(
                "No source in the landing folder has a usable date (report refresh dates, "
                "lmstat snapshots, activity or last sign-in dates, HR dates), so the as-of date "
                "is unknown. Run again with --as-of YYYY-MM-DD, or add dated exports."
            )
        )
    context.log.info("As-of date %s", as_of)


def _run_results(invocation: DbtCliInvocation) -> dict[str, Any]:
    """Return the build's run_results.json, or no results when dbt wrote none."""
    try:
        return invocation.get_artifact("run_results.json")
    except FileNotFoundError:
        return {"results": []}


def _as_of_date(con: duckdb.DuckDBPyConnection) -> date | None:
    try:
        return con.execute("select max(as_of_date) from main_marts.as_of_date").fetchone()[0]
    except duckdb.CatalogException:
        return None
