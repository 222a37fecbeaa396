"""Dagster resources: the warehouse file, the landing folder, run options and alerting."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from licpipe import settings, warehouse


class WarehouseResource(ConfigurableResource):
    """The DuckDB warehouse file shared by every asset and by dbt."""

    path: str = Field(description="Path of the warehouse DuckDB file.")
    lock_wait_seconds: float = Field(
        default=warehouse.LOCK_WAIT_SECONDS,
        description="How long a step waits for another process's write lock, in seconds.",
    )

    @property
    def file(self) -> Path:
        return Path(self.path).resolve()

    @property
    def analytics_path(self) -> Path:
        return self.file.parent / settings.ANALYTICS_FILE_NAME

    @property
    def models_dir(self) -> Path:
        return self.file.parent / settings.MODELS_DIR_NAME

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.connect(
            self.file, read_only=read_only, wait_seconds=self.lock_wait_seconds
        ) as con:
            yield con


class LandingResource(ConfigurableResource):
    """The landing folder holding one sub-folder of export files per source."""

    path: str = Field(description="Landing folder; each source reads <path>/<source>/.")
    flexlm_log_date: str = Field(
        default="",
        description="Date (YYYY-MM-DD) for FlexLM debug logs that start with no date line.",
    )

    @property
    def root(self) -> Path:
        return Path(self.path).resolve()

    @property
    def log_date(self) -> date | None:
        return date.fromisoformat(self.flexlm_log_date) if self.flexlm_log_date else None


class PipelineOptions(ConfigurableResource):
    """Run options that change the results: the as-of date and recommendation thresholds."""

    as_of: str = Field(
        default="", description="As-of date (YYYY-MM-DD); empty means the latest date in the data."
    )
    inactivity_days: int = Field(
        default=60, description="Days without use after which a named seat is reclaimed."
    )
    renewal_buffer: float = Field(
        default=0.10, description="Share added to the upper forecast bound when sizing a renewal."
    )

    @property
    def as_of_date(self) -> date | None:
        return date.fromisoformat(self.as_of) if self.as_of else None


class AlertsResource(ConfigurableResource):
    """Alert destinations for failed quality gates, besides `analytics.quality_alerts`."""

    webhook_url: str = Field(
        default="", description="Slack-compatible incoming-webhook URL; empty disables posting."
    )


def build_resources(config: settings.Settings | None = None) -> dict[str, object]:
    """Build every resource from settings, reading secrets through EnvVar only."""
    from dagster_dbt import DbtCliResource

    config = config or settings.load_settings()
    return {
        "warehouse": WarehouseResource(path=str(config.warehouse_path)),
        "landing": LandingResource(
            path=str(config.landing_dir),
            flexlm_log_date=config.log_date.isoformat() if config.log_date else "",
        ),
        "options": PipelineOptions(
            as_of=config.as_of.isoformat() if config.as_of else "",
            inactivity_days=config.inactivity_days,
            renewal_buffer=config.renewal_buffer,
        ),
        "alerts": AlertsResource(webhook_url=EnvVar(settings.ENV_WEBHOOK_URL))
        if _env_set(settings.ENV_WEBHOOK_URL)
        else AlertsResource(),
        "dbt": DbtCliResource(
            project_dir=str(settings.DBT_PROJECT_DIR),
            profiles_dir=str(settings.DBT_PROJECT_DIR),
            # The dbt beside this interpreter, so a venv works without being activated.
            dbt_executable=str(Path(sys.executable).with_name("dbt")),
        ),
    }


def _env_set(name: str) -> bool:
    import os

    return bool(os.environ.get(name))
