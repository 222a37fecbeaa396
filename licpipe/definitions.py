"""The one Dagster code location: every asset, check, job, schedule and sensor of licpipe."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
    in_process_executor,
)

from licpipe.assets.dbt import licpipe_dbt_models
from licpipe.assets.ml import ml_assets
from licpipe.assets.publish import analytics_snapshot
from licpipe.assets.quality import mart_checks
from licpipe.assets.raw import raw_assets
from licpipe.assets.recommendations import recommendation_assets
from licpipe.resources import build_resources
from licpipe.sensors import landing_sensor

all_assets = [
    *raw_assets,
    licpipe_dbt_models,
    *ml_assets,
    *recommendation_assets,
    analytics_snapshot,
]

# The nightly job materialises everything and reuses saved classifiers; retraining refits them.
nightly_job = define_asset_job(
    "nightly",
    selection=AssetSelection.all(),
    description="Load new exports, rebuild the marts, score and publish; reuse saved models.",
)
retrain_job = define_asset_job(
    "retrain",
    selection=AssetSelection.all(),
    config={
        "ops": {
            "upgrade_predictions": {"config": {"retrain": True}},
            "provisioning_predictions": {"config": {"retrain": True}},
        }
    },
    description="The nightly job with every classifier refitted.",
)

defs = Definitions(
    assets=all_assets,
    asset_checks=mart_checks(),
    jobs=[nightly_job, retrain_job],
    schedules=[
        ScheduleDefinition(job=nightly_job, cron_schedule="0 2 * * *", name="nightly_schedule"),
        ScheduleDefinition(job=retrain_job, cron_schedule="0 4 1 * *", name="monthly_retrain"),
    ],
    sensors=[landing_sensor],
    resources=build_resources(),
    executor=in_process_executor,
)
