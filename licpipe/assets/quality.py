"""Blocking expectation checks on dbt models, run after `dbt build` and before the models."""

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetKey, asset_check

from licpipe.checks.asset_checks import (
    CHECK_NAME,
    asset_key_for_suite,
    run_suite_check,
    suite_names,
)
from licpipe.resources import AlertsResource, WarehouseResource


def _mart_check(suite: str):
    key = asset_key_for_suite(suite)

    @asset_check(
        asset=key,
        name=CHECK_NAME,
        blocking=True,
        description=f"Great Expectations suite expectations/{suite}.json",
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource
    ) -> AssetCheckResult:
        with warehouse.connect() as con:
            as_of = con.execute("select max(as_of_date) from main_marts.as_of_date").fetchone()[0]
            return run_suite_check(
                con,
                suite,
                webhook_url=alerts.webhook_url,
                parameters={"as_of": str(as_of) if as_of else None},
                log=context.log,
            )

    _check.__name__ = f"{suite}_{CHECK_NAME}"
    return _check


def mart_checks():
    """Checks for every suite that guards a dbt model rather than a raw table."""
    return [_mart_check(name) for name in suite_names() if not name.startswith("raw_")]


__all__ = ["AssetKey", "mart_checks"]
