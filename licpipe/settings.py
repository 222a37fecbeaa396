"""Paths, environment-variable names and defaults shared by Dagster, dbt and the CLI.

Nothing here writes `os.environ`; the CLI sets variables for the run it starts, and
`dagster dev` reads them from the shell or `.env`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DEFAULT_DEMO_DIR = PROJECT_ROOT / "var" / "demo"

# Environment variables, listed with their defaults in .env.example.
ENV_LANDING = "LICPIPE_LANDING"
ENV_WAREHOUSE = "LICPIPE_WAREHOUSE"
ENV_AS_OF = "LICPIPE_AS_OF"
ENV_LOG_DATE = "LICPIPE_FLEXLM_LOG_DATE"
ENV_INACTIVITY_DAYS = "LICPIPE_INACTIVITY_DAYS"
ENV_RENEWAL_BUFFER = "LICPIPE_RENEWAL_BUFFER"
ENV_WEBHOOK_URL = "LICPIPE_WEBHOOK_URL"

ANALYTICS_FILE_NAME = "analytics.duckdb"
MODELS_DIR_NAME = "models"


@dataclass(frozen=True)
class Settings:
    """Resolved paths and options for one run."""

    landing_dir: Path
    warehouse_path: Path
    as_of: date | None = None
    log_date: date | None = None
    inactivity_days: int = 60
    renewal_buffer: float = 0.10

    @property
    def analytics_path(self) -> Path:
        """The published snapshot, written beside the warehouse file."""
        return self.warehouse_path.parent / ANALYTICS_FILE_NAME

    @property
    def models_dir(self) -> Path:
        """Where fitted models are saved and reused until retraining."""
        return self.warehouse_path.parent / MODELS_DIR_NAME


def _optional_date(name: str) -> date | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a date; use YYYY-MM-DD or unset it.") from None


def load_settings() -> Settings:
    """Read settings from the environment, defaulting to the demo folder."""
    landing = Path(os.environ.get(ENV_LANDING) or DEFAULT_DEMO_DIR / "landing")
    warehouse = Path(os.environ.get(ENV_WAREHOUSE) or DEFAULT_DEMO_DIR / "warehouse.duckdb")
    return Settings(
        landing_dir=landing.resolve(),
        warehouse_path=warehouse.resolve(),
        as_of=_optional_date(ENV_AS_OF),
        log_date=_optional_date(ENV_LOG_DATE),
        inactivity_days=int(os.environ.get(ENV_INACTIVITY_DAYS) or 60),
        renewal_buffer=float(os.environ.get(ENV_RENEWAL_BUFFER) or 0.10),
    )
