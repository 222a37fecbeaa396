"""The model assets materialised in process on small warehouses built from test frames."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import joblib
import numpy as np
import pandas as pd
from dagster import materialize

from licpipe.assets.ml import demand_forecasts, upgrade_predictions, usage_tiers
from licpipe.resources import WarehouseResource
from tests.ml.synthetic import AS_OF, growth_population

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


class ConstantProbability:
    """A stand-in classifier that scores every row 0.25, to show which model scored."""

    classes_ = np.array([False, True])

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        return np.tile([0.75, 0.25], (len(rows), 1))


def _write(con: duckdb.DuckDBPyConnection, schema: str, table: str, frame: pd.DataFrame) -> None:
    con.execute(f"create schema if not exists {schema}")
    con.register("frame", frame)
    con.execute(f"create or replace table {schema}.{table} as select * from frame")
    con.unregister("frame")


def _as_of(con: duckdb.DuckDBPyConnection, day: date) -> None:
    _write(
        con,
        "main_marts",
        "as_of_date",
        pd.DataFrame({"as_of_date": [day], "latest_data_on": [day]}),
    )


def _resources(database: Path) -> dict:
    return {"warehouse": WarehouseResource(path=str(database))}


def _model_runs(database: Path) -> dict[str, dict]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        rows = con.execute(
            "select model, version, parameters, metrics, baseline_metrics from analytics.model_runs"
        ).fetchall()
    finally:
        con.close()
    return {
        model: {
            "version": version,
            "parameters": json.loads(parameters),
            "metrics": json.loads(metrics),
            "baseline_metrics": json.loads(baseline),
        }
        for model, version, parameters, metrics, baseline in rows
    }


def test_usage_tiers_records_effective_k(tmp_path: Path):
    # cad has four all-zero users and viewer two distinct users.
    raw = pd.read_csv(FIXTURES / "ml" / "tiers_small_groups.csv")
    features = pd.DataFrame(
        {
            "user_key": raw["user"],
            "application_id": raw["app"],
            "active_days_90": raw["days_active_30d"],
            "active_days_30": raw["days_active_30d"],
            "minutes_90": raw["hours_30d"] * 60.0,
            "events_90": raw["features_used"],
            "sessions_90": np.nan,
        }
    )
    database = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(database))
    _write(con, "analytics", "user_features", features)
    _write(
        con,
        "main_marts",
        "dim_users",
        pd.DataFrame({"user_key": raw["user"], "email": raw["user"]}),
    )
    _write(
        con,
        "main_marts",
        "dim_applications",
        pd.DataFrame({"application_id": ["cad", "viewer"], "application": ["CAD", "Viewer"]}),
    )
    con.close()

    result = materialize([usage_tiers], resources=_resources(database))
    metadata = result.asset_materializations_for_node("usage_tiers")[0].metadata

    assert result.success
    assert metadata["effective_k"].value == {"cad": 0, "viewer": 2}
    assert metadata["dagster/row_count"].value == 6
    assert _model_runs(database)["usage_tiers_kmeans"]["parameters"]["random_state"] == 0


def _usage_for_counts(counts: pd.Series, application_id: str) -> pd.DataFrame:
    """Return one active usage row per user and day, so each day has `counts[day]` users."""
    rows = [
        {
            "user_key": f"user{index:03d}@x.com",
            "application_id": application_id,
            "application": application_id.upper(),
            "usage_date": day.date(),
            "is_active": True,
        }
        for day, count in counts.items()
        for index in range(int(count))
    ]
    return pd.DataFrame(rows)


def test_demand_forecasts_record_calibration(tmp_path: Path):
    # crm has 180 days of weekly seats, new_app a single day: Prophet and a naive fallback.
    rng = np.random.default_rng(7)
    days = pd.date_range("2023-11-01", periods=180, freq="D")
    seats = np.where(days.dayofweek < 5, 60.0, 20.0) + rng.normal(0, 3, len(days))
    usage = pd.concat(
        [
            _usage_for_counts(pd.Series(np.round(seats), index=days), "crm"),
            _usage_for_counts(pd.Series([3], index=[days[-1]]), "new_app"),
        ],
        ignore_index=True,
    )
    usage["is_backfilled"] = False
    as_of = days[-1].date()
    database = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(database))
    _write(con, "main_marts", "fct_daily_usage", usage)
    _write(
        con,
        "main_marts",
        "fct_concurrency",
        pd.DataFrame(
            {
                "feature_key": pd.Series(dtype=str),
                "application_id": pd.Series(dtype=str),
                "hour_start": pd.Series(dtype="datetime64[ns]"),
                "peak_concurrent_seats": pd.Series(dtype=int),
            }
        ),
    )
    _write(
        con,
        "main_marts",
        "dim_skus",
        pd.DataFrame(
            {
                "application_id": ["crm"],
                "renewal_date": [as_of + timedelta(days=60)],
                "license_model": ["named"],
                "feature": [None],
                "seats_owned": [80],
            }
        ),
    )
    _as_of(con, as_of)
    con.close()

    result = materialize([demand_forecasts], resources=_resources(database))
    runs = _model_runs(database)
    crm, new_app = runs["forecast_crm"], runs["forecast_new_app"]

    assert result.success
    assert crm["version"] == "2"
    assert crm["parameters"]["method"] == "prophet"
    assert crm["parameters"]["interval_scale"] > 0
    assert crm["parameters"]["calibration_days"] == 6 * 28
    assert 0 <= crm["metrics"]["coverage_80"] <= 1
    assert 0 <= crm["metrics"]["coverage_80_uncalibrated"] <= 1
    assert 0 <= crm["baseline_metrics"]["coverage_80"] <= 1
    assert new_app["parameters"]["method"] == "naive"
    assert new_app["parameters"]["interval_scale"] is None


def _growth_warehouse(database: Path) -> None:
    population = growth_population(n_users=120)
    con = duckdb.connect(str(database))
    _write(con, "main_marts", "fct_daily_usage", population["daily_usage"])
    _write(con, "main_marts", "fct_license_assignments", population["assignments"])
    _write(con, "main_marts", "dim_users", population["users"])
    _write(
        con,
        "main_marts",
        "dim_applications",
        pd.DataFrame({"application_id": ["crm"], "application": ["CRM"]}),
    )
    _as_of(con, AS_OF)
    con.close()


def _upgrade_probabilities(database: Path, retrain: bool) -> pd.Series:
    config = {"ops": {"upgrade_predictions": {"config": {"retrain": retrain}}}}
    result = materialize([upgrade_predictions], resources=_resources(database), run_config=config)
    assert result.success
    con = duckdb.connect(str(database), read_only=True)
    try:
        query = "select probability from analytics.upgrade_predictions order by user_key"
        return con.execute(query).df()["probability"]
    finally:
        con.close()


def test_saved_upgrade_model_reused_until_retrain(tmp_path: Path):
    database = tmp_path / "warehouse.duckdb"
    _growth_warehouse(database)

    fitted = _upgrade_probabilities(database, retrain=False)
    saved = list((tmp_path / "models" / "upgrade_classifier").glob("*.joblib"))
    # Swap the saved classifier for a constant one: a run that reuses it scores 0.25 everywhere.
    payload = joblib.load(saved[0])
    payload["model"].pipeline = ConstantProbability()
    joblib.dump(payload, saved[0])
    reused = _upgrade_probabilities(database, retrain=False)
    refitted = _upgrade_probabilities(database, retrain=True)

    assert len(saved) == 1
    assert fitted.nunique() > 1
    assert (reused == 0.25).all()
    assert refitted.tolist() == fitted.tolist()
