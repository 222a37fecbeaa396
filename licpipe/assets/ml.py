"""Model assets: features, tiers, reclaim candidates, forecasts, classifiers and anomalies.

Thin layers: each reads marts from the warehouse, calls `licpipe.ml` or `licpipe.recommend`,
replaces its table in the `analytics` schema and reports counts and model metrics.
"""

from datetime import date, timedelta

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, MetadataValue, asset

from licpipe import model_store
from licpipe.resources import PipelineOptions, WarehouseResource
from licpipe.warehouse import read_frame, replace_table, table_exists

MARTS = "main_marts"
ANALYTICS = "analytics"


def mart(name: str) -> AssetKey:
    """Return the asset key dagster-dbt gives a mart model: its schema, then its name."""
    return AssetKey(["marts", name])


# An as-of date this far past the latest data makes every seat look idle.
MAX_AS_OF_BEYOND_DATA_DAYS = 7


def read_as_of(con) -> date:
    """Read the data's own as-of date from the `as_of_date` mart, never the wall clock.

    Raises ValueError when there is no dated data. It also raises when a given as-of date lies
    more than a week after the latest data (every seat would look idle) or before the earliest
    usage (every seat would look never used).
    """
    rows = con.execute(
        f"select max(as_of_date), max(latest_data_on) from {MARTS}.as_of_date"
    ).fetchall()
    as_of, latest = rows[0] if rows else (None, None)
    if as_of is None:
        raise ValueError(
            "main_marts.as_of_date is empty: no dated activity was loaded. Check the landing "
            "folder or pass --as-of."
        )
    if latest is not None and (as_of - latest).days > MAX_AS_OF_BEYOND_DATA_DAYS:
        raise ValueError(
            f"the as-of date {as_of} is {(as_of - latest).days} days after the latest data "
            f"({latest}), so every seat would look idle. Load newer exports or pass "
            f"--as-of {latest} or earlier."
        )
    # fct_daily_usage stops at the as-of date, so the earliest use is read before that cut.
    earliest = None
    if table_exists(con, "main_intermediate", "int_usage_events"):
        earliest = con.execute(
            "select min(usage_date) from main_intermediate.int_usage_events "
            "where usage_date >= date '2000-01-01'"
        ).fetchone()[0]
    if earliest is not None and as_of < earliest:
        raise ValueError(
            f"the as-of date {as_of} is before the earliest usage in the data ({earliest}), so "
            f"every seat would look never used. Pass --as-of {earliest} or later."
        )
    return as_of


def _preview(frame: pd.DataFrame, rows: int = 5) -> MetadataValue:
    return MetadataValue.md(
        frame.head(rows).to_markdown(index=False) if not frame.empty else "_empty_"
    )


def _result(table: str, frame: pd.DataFrame, **metadata) -> MaterializeResult:
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "table": f"{ANALYTICS}.{table}",
            "preview": _preview(frame),
            **metadata,
        }
    )


def _with_names(frame: pd.DataFrame, users: pd.DataFrame, apps: pd.DataFrame) -> pd.DataFrame:
    """Add `user_email` and `application` so analysts can join on readable keys."""
    out = frame.copy()
    if "user_key" in out.columns and "user_email" not in out.columns:
        emails = users.set_index("user_key")["email"] if not users.empty else pd.Series(dtype=str)
        out["user_email"] = out["user_key"].map(emails).fillna(out["user_key"])
    if "application_id" in out.columns and "application" not in out.columns:
        names = (
            apps.set_index("application_id")["application"]
            if not apps.empty
            else pd.Series(dtype=str)
        )
        out["application"] = out["application_id"].map(names).fillna(out["application_id"])
    return out


class RetrainConfig(Config):
    retrain: bool = False
    """Fit a new model even when a saved one exists (the monthly job sets this)."""


@asset(
    deps=[
        mart("fct_daily_usage"),
        mart("fct_license_assignments"),
        mart("dim_users"),
        mart("as_of_date"),
    ],
    group_name="ml",
    pool="duckdb_writer",
    kinds={"python", "duckdb"},
)
def user_features(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per user and application: trailing-window activity, trend and periodicity."""
    from licpipe.ml.features import build_user_features

    with warehouse.connect() as con:
        as_of = read_as_of(con)
        usage = read_frame(con, MARTS, "fct_daily_usage")
        assignments = read_frame(con, MARTS, "fct_license_assignments")
        users = read_frame(con, MARTS, "dim_users")

        features = build_user_features(usage, assignments, users, as_of)
        context.log.info("Built %d user-application feature rows as of %s", len(features), as_of)
        replace_table(con, ANALYTICS, "user_features", features)
    return _result("user_features", features, as_of=str(as_of))


@asset(
    deps=[user_features, mart("dim_users"), mart("dim_applications")],
    group_name="ml",
    pool="duckdb_writer",
    kinds={"scikit-learn", "duckdb"},
)
def usage_tiers(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """One row per user and application: power, regular, light or non-user."""
    from licpipe.ml.tiering import assign_tiers

    with warehouse.connect() as con:
        features = read_frame(con, ANALYTICS, "user_features")
        users = read_frame(con, MARTS, "dim_users")
        apps = read_frame(con, MARTS, "dim_applications")

        tiers, metrics = assign_tiers(features)
        tiers = _with_names(tiers, users, apps)
        replace_table(con, ANALYTICS, "usage_tiers", tiers)
        model_store.record_model_run(
            con,
            model="usage_tiers_kmeans",
            version="1",
            data_hash=model_store.frame_hash(features),
            parameters={"max_k": 3, "window_days": 90, "random_state": 0},
            metrics=metrics,
        )
    counts = tiers["tier"].value_counts().to_dict() if not tiers.empty else {}
    context.log.info("Assigned tiers: %s", counts)
    return _result(
        "usage_tiers",
        tiers,
        tier_counts=MetadataValue.json(counts),
        effective_k=MetadataValue.json(
            {app: m.get("effective_k") for app, m in metrics.items() if isinstance(m, dict)}
        ),
    )


@asset(
    deps=[user_features, mart("fct_license_assignments"), mart("dim_users")],
    group_name="ml",
    pool="duckdb_writer",
    kinds={"python", "duckdb"},
)
def reclaim_candidates(
    context: AssetExecutionContext, warehouse: WarehouseResource, options: PipelineOptions
) -> MaterializeResult:
    """One row per assigned seat that is idle, held by a leaver, intermittent or in grace."""
    from licpipe.recommend.reclaim import find_reclaim_candidates

    with warehouse.connect() as con:
        as_of = read_as_of(con)
        features = read_frame(con, ANALYTICS, "user_features")
        assignments = read_frame(con, MARTS, "fct_license_assignments")
        users = read_frame(con, MARTS, "dim_users")
        apps = read_frame(con, MARTS, "dim_applications")

        candidates = find_reclaim_candidates(
            features, assignments, users, as_of, inactivity_days=options.inactivity_days
        )
        candidates = _with_names(candidates, users, apps)
        replace_table(con, ANALYTICS, "reclaim_candidates", candidates)
    statuses = candidates["status"].value_counts().to_dict() if not candidates.empty else {}
    context.log.info("Reclaim candidates by status: %s", statuses)
    return _result("reclaim_candidates", candidates, statuses=MetadataValue.json(statuses))


def _forecast_inputs(con, as_of: date):
    """Daily series per named application and per concurrent feature, with horizons and caps."""
    # Backfilled days (M365 last activity dates before a report's first refresh) list only the
    # users idle since, so they would read as days of low use and are left out.
    usage = con.execute(
        f"""
        select application_id as series_key, any_value(application) as application,
               usage_date as ds, count(distinct user_key) as y
        from {MARTS}.fct_daily_usage
        where is_active and not is_backfilled and usage_date <= ?
        group by all
        """,
        [as_of],
    ).df()
    usage.insert(0, "series_type", "application")
    concurrency = con.execute(
        f"""
        select feature_key as series_key, any_value(application_id) as application,
               cast(hour_start as date) as ds, max(peak_concurrent_seats) as y
        from {MARTS}.fct_concurrency
        where cast(hour_start as date) <= ?
        group by all
        """,
        [as_of],
    ).df()
    concurrency.insert(0, "series_type", "feature")
    series = pd.concat([usage, concurrency], ignore_index=True)

    skus = read_frame(con, MARTS, "dim_skus")
    renewals: dict[str, date] = {}
    caps: dict[str, float] = {}
    default_horizon = as_of + timedelta(days=90)
    for _, row in skus.iterrows():
        renewal = row.get("renewal_date")
        if pd.notna(renewal) and renewal > as_of:
            key = row["application_id"]
            renewals[key] = min(renewals.get(key, renewal), renewal)
    horizons: dict[str, date] = {}
    for key, group in series.groupby("series_key"):
        app = group["application"].iloc[0]
        horizons[key] = renewals.get(key) or renewals.get(app) or default_horizon
    for _, row in skus[skus.get("license_model", pd.Series(dtype=str)) == "concurrent"].iterrows():
        for key in series.loc[series["series_type"] == "feature", "series_key"].unique():
            if str(row.get("feature") or "") and str(key).endswith(str(row.get("feature"))):
                caps[key] = float(row["seats_owned"] or 0) or None
    return series, horizons, {k: v for k, v in caps.items() if v}


# Version 2 calibrates the prediction intervals on backtest errors.
FORECAST_VERSION = "2"
FORECAST_RUN_METRICS = (
    "mape",
    "coverage_80",
    "coverage_80_uncalibrated",
    "interval_width",
    "n_history",
    "folds_run",
    "folds_skipped",
)


@asset(
    deps=[mart("fct_daily_usage"), mart("fct_concurrency"), mart("dim_skus"), mart("as_of_date")],
    group_name="ml",
    pool="duckdb_writer",
    kinds={"prophet", "duckdb"},
)
def demand_forecasts(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per series and future day up to renewal: seats with calibrated 80 % intervals."""
    from licpipe.ml.forecasting import forecast_many

    with warehouse.connect() as con:
        as_of = read_as_of(con)
        series, horizons, caps = _forecast_inputs(con, as_of)
        context.log.info("Forecasting %d series to their renewal dates", len(horizons))

        forecasts, metrics = forecast_many(series, horizons, caps)
        replace_table(con, ANALYTICS, "demand_forecasts", forecasts)
        replace_table(con, ANALYTICS, "forecast_metrics", metrics)
        for _, row in metrics.iterrows():
            history = series[series["series_key"] == row["series_key"]]
            model_store.record_model_run(
                con,
                model=f"forecast_{row['series_key']}",
                version=FORECAST_VERSION,
                data_hash=model_store.frame_hash(history),
                parameters={
                    "method": row.get("method"),
                    "horizon_end": str(horizons.get(row["series_key"])),
                    "interval_calibration": "split-conformal on backtest folds",
                    "interval_scale": _plain(row.get("interval_scale")),
                    "calibration_days": _plain(row.get("calibration_days")),
                },
                metrics={k: _plain(row.get(k)) for k in FORECAST_RUN_METRICS},
                baseline_metrics={
                    "mape": _plain(row.get("baseline_mape")),
                    "coverage_80": _plain(row.get("baseline_coverage_80")),
                    "interval_width": _plain(row.get("baseline_interval_width")),
                    "method": "seasonal_naive",
                },
                train_start=history["ds"].min(),
                train_end=history["ds"].max(),
            )
    methods = metrics["method"].value_counts().to_dict() if not metrics.empty else {}
    return _result(
        "demand_forecasts",
        forecasts,
        methods=MetadataValue.json(methods),
        mape=MetadataValue.json(
            {r["series_key"]: _plain(r.get("mape")) for _, r in metrics.iterrows()}
        ),
        coverage_80=MetadataValue.json(
            {r["series_key"]: _plain(r.get("coverage_80")) for _, r in metrics.iterrows()}
        ),
    )


def _plain(value):
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return value


PREDICTION_COLUMNS = {
    "user_key": "object",
    "user_email": "object",
    "application_id": "object",
    "application": "object",
    "probability": "float64",
}


def _classifier_asset_body(
    context, warehouse, config, *, name, table, train, score, columns=PREDICTION_COLUMNS
):
    """Shared flow of the two classifiers: reuse or fit, score as of the data, record the run."""
    store = model_store.ModelStore(warehouse.models_dir)
    with warehouse.connect() as con:
        as_of = read_as_of(con)
        usage = read_frame(con, MARTS, "fct_daily_usage")
        assignments = read_frame(con, MARTS, "fct_license_assignments")
        users = read_frame(con, MARTS, "dim_users")
        apps = read_frame(con, MARTS, "dim_applications")
        data_hash = model_store.frame_hash(usage, assignments, users)

        saved = None if config.retrain else store.latest(name)
        predictions = None
        if saved is not None and score is not None:
            model, record = saved
            try:
                predictions = score(model, usage, assignments, users, as_of)
                context.log.info("Reused %s model trained on %s", name, record.get("train_end"))
            except TypeError as error:
                # A model saved by an older licpipe cannot score; refit it instead.
                context.log.warning("Refitting %s: %s", name, error)
        if predictions is None:
            try:
                result = train(usage, assignments, users, as_of)
            except ValueError as error:
                # Too little history or no positive examples: publish no predictions rather than
                # fail the run, and say why in the log, the metadata and model_runs.
                context.log.warning("Skipped training %s: %s", name, error)
                model_store.record_model_run(
                    con,
                    model=name,
                    version="1",
                    data_hash=data_hash,
                    parameters={},
                    metrics={"status": "skipped", "reason": str(error)},
                )
                empty = pd.DataFrame(
                    {column: pd.Series(dtype=kind) for column, kind in columns.items()}
                )
                replace_table(con, ANALYTICS, table, empty)
                return _result(table, empty, skipped_reason=str(error))
            predictions, record = (
                result.predictions,
                {
                    "metrics": result.metrics,
                    "baseline_metrics": result.baseline_metrics,
                    "parameters": getattr(result, "parameters", {}),
                },
            )
            model_store.record_model_run(
                con,
                model=name,
                version="1",
                data_hash=data_hash,
                parameters=record["parameters"],
                metrics=result.metrics,
                baseline_metrics=result.baseline_metrics,
                train_start=result.metrics.get("train_start"),
                train_end=result.metrics.get("train_end"),
                test_start=result.metrics.get("test_start"),
                test_end=result.metrics.get("test_end"),
            )
            store.save(
                name,
                data_hash,
                result.model,
                {**record, "train_end": str(result.metrics.get("train_end"))},
            )
        predictions = _with_names(predictions, users, apps)
        replace_table(con, ANALYTICS, table, predictions)
    metrics = record.get("metrics", {})
    baseline = record.get("baseline_metrics", {})
    return _result(
        table,
        predictions,
        roc_auc=_plain(metrics.get("roc_auc")),
        baseline_roc_auc=_plain(baseline.get("roc_auc")),
        train_start=str(metrics.get("train_start")),
        train_end=str(metrics.get("train_end")),
    )


@asset(
    deps=[mart("fct_daily_usage"), mart("fct_license_assignments"), mart("dim_users")],
    group_name="ml",
    pool="duckdb_writer",
    kinds={"scikit-learn", "duckdb"},
)
def upgrade_predictions(
    context: AssetExecutionContext, warehouse: WarehouseResource, config: RetrainConfig
) -> MaterializeResult:
    """One row per user and application: probability of needing a higher tier next quarter."""
    from licpipe.ml import classifiers

    return _classifier_asset_body(
        context,
        warehouse,
        config,
        name="upgrade_classifier",
        table="upgrade_predictions",
        train=classifiers.train_upgrade_model,
        score=getattr(classifiers, "score_upgrades", None),
        columns={**PREDICTION_COLUMNS, "current_tier": "object", "predicted_tier": "object"},
    )


@asset(
    deps=[mart("fct_daily_usage"), mart("fct_license_assignments"), mart("dim_users")],
    group_name="ml",
    pool="duckdb_writer",
    kinds={"scikit-learn", "duckdb"},
)
def provisioning_predictions(
    context: AssetExecutionContext, warehouse: WarehouseResource, config: RetrainConfig
) -> MaterializeResult:
    """One row per employee and application they lack: probability of needing it in 30 days."""
    from licpipe.ml import classifiers

    return _classifier_asset_body(
        context,
        warehouse,
        config,
        name="provisioning_classifier",
        table="provisioning_predictions",
        train=classifiers.train_provisioning_model,
        score=getattr(classifiers, "score_provisioning", None),
    )


@asset(
    deps=[
        user_features,
        mart("fct_daily_usage"),
        mart("fct_license_positions"),
        mart("fct_license_assignments"),
        mart("dim_users"),
    ],
    group_name="ml",
    pool="duckdb_writer",
    kinds={"scikit-learn", "duckdb"},
)
def usage_anomalies(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per anomaly: usage spikes and drops, compliance drift and zombie accounts."""
    from licpipe.ml import anomalies

    with warehouse.connect() as con:
        usage = read_frame(con, MARTS, "fct_daily_usage")
        positions = read_frame(con, MARTS, "fct_license_positions")
        assignments = read_frame(con, MARTS, "fct_license_assignments")
        users = read_frame(con, MARTS, "dim_users")
        features = read_frame(con, ANALYTICS, "user_features")

        parts = [
            anomalies.detect_usage_anomalies(usage),
            anomalies.detect_compliance_drift(positions, None),
            anomalies.detect_zombie_accounts(assignments, users, features),
        ]
        found = pd.concat(parts, ignore_index=True)
        replace_table(con, ANALYTICS, "usage_anomalies", found)
    kinds = found["anomaly_type"].value_counts().to_dict() if not found.empty else {}
    context.log.info("Anomalies by type: %s", kinds)
    return _result("usage_anomalies", found, anomaly_types=MetadataValue.json(kinds))


ml_assets = [
    user_features,
    usage_tiers,
    reclaim_candidates,
    demand_forecasts,
    upgrade_predictions,
    provisioning_predictions,
    usage_anomalies,
]
