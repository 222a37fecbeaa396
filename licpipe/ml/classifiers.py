"""Upgrade and provisioning classifiers trained on a time split of the usage history.

Upgrade labels use activity levels per application: 0 (non-user), 1 (light), 2 (regular) and
3 (power). The active-day rate is active days per day of the window. Light, regular and power
are split at the 1/3 and 2/3 quantiles of that rate among active user-apps at the training
cutoffs, which mirrors the three KMeans tiers without refitting KMeans at every cutoff.

Each train_* function returns, as `ClassifierResult.model`, a picklable model object that holds
the fitted Pipeline and everything else scoring needs. score_upgrades and score_provisioning
score new data with it exactly as training scores the as-of date.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from licpipe.ml.evaluation import plan_cutoffs, ranking_metrics
from licpipe.ml.features import build_user_features, clean_usage, to_date_series

logger = logging.getLogger(__name__)

LEVEL_NAMES = {0: "non-user", 1: "light", 2: "regular", 3: "power"}
TIER_LEVELS = {name: level for level, name in LEVEL_NAMES.items()}

UPGRADE_NUMERIC = [
    "rate_7",
    "rate_30",
    "rate_90",
    "rate_prior_60",
    "ratio_30_vs_prior_60",
    "trend",
    "log_sessions_90",
    "log_minutes_90",
    "log_events_90",
    "days_since_last_use",
    "level",
    "rate_projected_91",
    "projected_gain",
]
PROVISIONING_NUMERIC = ["peer_share_department", "peer_share_role", "tenure_days", "is_new_hire"]
PROVISIONING_CATEGORICAL = ["department", "role", "application_id"]
NEW_HIRE_DAYS = 60
UPGRADE_PREDICTION_COLUMNS = [
    "user_key",
    "application_id",
    "probability",
    "current_tier",
    "predicted_tier",
]
PROVISIONING_PREDICTION_COLUMNS = ["user_key", "application_id", "probability"]
# Peers who used an application in this many days before the cutoff count as its users.
PEER_WINDOW_DAYS = 30
# The simple scores each classifier is compared with: active days in the last 30 days for
# upgrades, the share of department peers using the application for provisioning.
UPGRADE_BASELINE_COLUMN = "active_days_30"
PROVISIONING_BASELINE_COLUMN = "peer_share_department"
BASELINE_SCORE_COLUMNS = ["user_key", "application_id", "score"]


@dataclass
class ClassifierResult:
    """A fitted classifier with its predictions and held-out metrics.

    Attributes:
        predictions: Scores for cutoff = as_of.
        metrics: Model metrics on the held-out cutoff, plus the split dates and row counts.
        baseline_metrics: The same metrics for the simple baseline score.
        model: The fitted UpgradeModel or ProvisioningModel that produced both the metrics and
            the predictions. It pickles with joblib, and score_upgrades or score_provisioning
            scores newer data with it.
        parameters: Hyper-parameters and split settings.
    """

    predictions: pd.DataFrame
    metrics: dict
    baseline_metrics: dict
    model: UpgradeModel | ProvisioningModel
    parameters: dict = field(default_factory=dict)


@dataclass
class UpgradeModel:
    """A fitted upgrade classifier and the level boundaries its features and labels use.

    Attributes:
        pipeline: The fitted sklearn Pipeline.
        thresholds: (light/regular, regular/power) boundaries of the active-day rate per
            application_id, learnt at the training cutoffs.
        n_threads: OpenMP threads for scoring, None for all cores.
    """

    pipeline: Pipeline
    thresholds: dict[str, tuple[float, float]]
    n_threads: int | None = 1


@dataclass
class ProvisioningModel:
    """A fitted provisioning classifier and the candidate settings it was trained with.

    Attributes:
        pipeline: The fitted sklearn Pipeline.
        applications: application_id values scored for every employee, from the training usage.
        new_hire_days: Tenure in days up to which an employee counts as a new hire.
        peer_window_days: Days before the cutoff in which a peer's use makes them a holder.
        n_threads: OpenMP threads for scoring, None for all cores.
    """

    pipeline: Pipeline
    applications: list[str]
    new_hire_days: int = NEW_HIRE_DAYS
    peer_window_days: int = PEER_WINDOW_DAYS
    n_threads: int | None = 1


UpgradeResult = ClassifierResult
ProvisioningResult = ClassifierResult


def build_classifier_pipeline(
    numeric: list[str],
    categorical: list[str],
    *,
    learning_rate: float = 0.1,
    max_iter: int = 200,
    max_depth: int | None = 3,
    random_state: int = 0,
    min_samples_leaf: int = 20,
    l2_regularization: float = 0.0,
) -> Pipeline:
    """Build a scaler and one-hot encoder feeding a histogram gradient-boosting classifier."""
    transformers = [("numeric", StandardScaler(), numeric)]
    if categorical:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        transformers.append(("categorical", encoder, categorical))
    return Pipeline(
        [
            ("prepare", ColumnTransformer(transformers)),
            (
                "classifier",
                HistGradientBoostingClassifier(
                    learning_rate=learning_rate,
                    max_iter=max_iter,
                    max_depth=max_depth,
                    random_state=random_state,
                    min_samples_leaf=min_samples_leaf,
                    l2_regularization=l2_regularization,
                    # scikit-learn turns early stopping on by itself above 10,000 rows and
                    # then validates on a random tenth, so scores would depend on row order.
                    early_stopping=False,
                ),
            ),
        ]
    )


def _scores(model: Pipeline, rows: pd.DataFrame, n_threads: int | None) -> np.ndarray:
    """Return positive-class probabilities, using at most n_threads OpenMP threads.

    A model fitted on one class (the class-prior fallback) has a single probability column,
    which is the positive class's only when that class is the positive one.
    """
    if len(rows) == 0:
        return np.array([])
    with threadpool_limits(limits=n_threads):
        probabilities = model.predict_proba(rows)
    classes = list(model.classes_)
    if 1 in classes:
        return probabilities[:, classes.index(1)]
    return np.zeros(len(rows))


def _fit(
    pipeline: Pipeline, x: pd.DataFrame, y: np.ndarray, parameters: dict, n_threads: int | None
) -> Pipeline:
    """Fit pipeline, or a class-prior pipeline when the training labels contain a single class."""
    if len(np.unique(y)) < 2:
        logger.warning(
            "training labels contain one class (%d rows): falling back to the class prior", len(y)
        )
        parameters["method"] = "prior"
        pipeline = Pipeline(
            [("prepare", pipeline.named_steps["prepare"]), ("classifier", DummyClassifier())]
        )
    else:
        parameters["method"] = "hist_gradient_boosting"
    with threadpool_limits(limits=n_threads):
        return pipeline.fit(x, y)


def _split_metrics(metrics: dict, schedule, horizon_end_days: int, n_train: int) -> dict:
    metrics = dict(metrics)
    metrics["n_test"] = metrics.pop("n")
    metrics["n_train"] = n_train
    metrics["train_start"] = schedule.train_cutoffs[0].isoformat()
    metrics["train_end"] = schedule.train_cutoffs[-1].isoformat()
    metrics["test_start"] = schedule.test_cutoff.isoformat()
    metrics["test_end"] = (schedule.test_cutoff + timedelta(days=horizon_end_days)).isoformat()
    return metrics


def _active_day_counts(usage: pd.DataFrame, start: date, end: date) -> pd.Series:
    """Return distinct active days per (user_key, application_id) in (start, end]."""
    window = usage[(usage["usage_date"] > start) & (usage["usage_date"] <= end)]
    return window.groupby(["user_key", "application_id"])["usage_date"].nunique()


def _projected_rate(usage: pd.DataFrame, start: date, end: date, at: date) -> pd.Series:
    """Project each pair's daily active rate to day `at` from a line fitted over weeks.

    Weeks run from `start` (exclusive) to `end`; a week without use counts as zero. A straight
    line through the weekly rates smooths out single busy or quiet weeks, so a projection that
    crosses a level boundary means sustained growth, not noise.
    """
    window = usage[(usage["usage_date"] > start) & (usage["usage_date"] <= end)]
    weeks = max(2, (end - start).days // 7)
    if window.empty:
        return pd.Series(dtype=float)
    week = ((pd.to_datetime(window["usage_date"]) - pd.Timestamp(start)).dt.days - 1) // 7
    counts = (
        window.assign(week=week.clip(upper=weeks - 1))
        .groupby(["user_key", "application_id", "week"])["usage_date"]
        .nunique()
        .unstack("week", fill_value=0)
        .reindex(columns=range(weeks), fill_value=0)
    )
    # Week w covers days (7w, 7w + 7] after start; its centre is 7w + 3.5 days.
    centres = np.arange(weeks, dtype=float) * 7 + 3.5
    offsets = centres - centres.mean()
    rates = counts.to_numpy(float) / 7.0
    slope = (rates - rates.mean(axis=1, keepdims=True)) @ offsets / (offsets @ offsets)
    projected = rates.mean(axis=1) + slope * ((at - start).days - centres.mean())
    return pd.Series(projected, index=counts.index)


def _level(rate: np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    low, high = thresholds
    return np.where(rate <= 0, 0, np.where(rate < low, 1, np.where(rate < high, 2, 3)))


def _upgrade_rows(usage, users, cutoff, history_start) -> pd.DataFrame:
    """Return activity features at cutoff for user-apps active in the 90 days before it."""
    empty = pd.DataFrame(columns=["user_key", "application_id", "application", "assigned_on"])
    rows = build_user_features(usage, empty, users, cutoff, include_periodicity=False)
    rows = rows[rows["active_days_90"] > 0].copy()

    history = max(1, (cutoff - history_start).days + 1)
    span_90 = min(90, history)
    rows["rate_7"] = rows["active_days_7"] / min(7, history)
    rows["rate_30"] = rows["active_days_30"] / min(30, history)
    rows["rate_90"] = rows["active_days_90"] / span_90
    prior_span = max(1, span_90 - 30)
    rows["rate_prior_60"] = (rows["active_days_90"] - rows["active_days_30"]) / prior_span
    # The 0.01 floor keeps the ratio finite for users with no use in the prior 60 days.
    rows["ratio_30_vs_prior_60"] = (rows["rate_30"] + 0.01) / (rows["rate_prior_60"] + 0.01)
    for column in ("sessions_90", "minutes_90", "events_90"):
        rows[f"log_{column}"] = np.log1p(rows[column].astype(float).fillna(0.0))
    rows["days_since_last_use"] = rows["days_since_last_use"].astype(float).fillna(span_90)
    # Where the last 12 weeks' line points a quarter ahead, from data up to the cutoff only.
    index = pd.MultiIndex.from_frame(rows[["user_key", "application_id"]])
    ahead = _projected_rate(usage, cutoff - timedelta(days=84), cutoff, cutoff + timedelta(days=91))
    rows["rate_projected_91"] = ahead.reindex(index).fillna(0).to_numpy()
    rows["projected_gain"] = rows["rate_projected_91"] - rows["rate_90"]
    rows["cutoff"] = cutoff
    return rows.reset_index(drop=True)


def _upgrade_thresholds(rows: pd.DataFrame, random_state: int = 0) -> dict:
    """Level boundaries per application: midpoints between 1-D KMeans centres of rate_90.

    Midpoints between the clusters of active-day rates sit in the gaps between usage tiers, so
    ordinary day-to-day noise rarely crosses them. Falls back to tertiles for applications with
    fewer than three distinct rates.
    """
    thresholds = {}
    for application_id, group in rows.groupby("application_id"):
        rates = group["rate_90"].to_numpy(float)
        distinct = np.unique(rates)
        if len(distinct) < 3:
            low, high = np.quantile(rates, [1 / 3, 2 / 3])
            thresholds[application_id] = (float(low), float(max(high, low)))
            continue
        kmeans = KMeans(n_clusters=3, n_init=10, random_state=random_state)
        centres = np.sort(kmeans.fit(rates.reshape(-1, 1)).cluster_centers_.ravel())
        low, high = (centres[:-1] + centres[1:]) / 2
        thresholds[application_id] = (float(low), float(high))
    return thresholds


def _apply_levels(rows: pd.DataFrame, thresholds: dict, rate_column: str) -> np.ndarray:
    levels = np.zeros(len(rows), dtype=int)
    for application_id, index in rows.groupby("application_id").groups.items():
        bounds = thresholds.get(application_id)
        if bounds is None:
            bounds = (0.34, 0.67)
        positions = rows.index.get_indexer(index)
        levels[positions] = _level(rows.loc[index, rate_column].to_numpy(float), bounds)
    return levels


def train_upgrade_model(
    daily_usage: pd.DataFrame,
    assignments: pd.DataFrame,
    users: pd.DataFrame,
    as_of: date,
    *,
    horizon_days: int = 45,
    gap_days: int = 7,
    random_state: int = 0,
    step_days: int = 7,
    tiers: pd.DataFrame | None = None,
    learning_rate: float = 0.1,
    max_iter: int = 200,
    max_depth: int | None = 3,
    n_threads: int | None = 1,
) -> UpgradeResult:
    """Train a model of which active user-apps reach a higher activity level next period.

    The label at cutoff c is 1 when the active-day rate in (c + gap, c + gap + horizon] falls in
    a higher level than the rate in the 90 days before c. The test cutoff is
    as_of - gap - horizon, so its labels end on as_of. Training cutoffs end their label windows
    on or before the test cutoff. The baseline score is active days in the 30 days before the
    cutoff. Predictions are for cutoff = as_of, over assigned or used pairs active in 90 days.

    Args:
        tiers: Optional usage_tiers rows. When given, current_tier comes from them.
        n_threads: OpenMP threads for gradient boosting, None for all cores. The default is 1
            because these fits are small and OpenMP threads slow down sharply on busy cores.
    """
    usage = clean_usage(daily_usage, as_of)
    if usage.empty:
        raise ValueError(
            f"daily_usage has no active rows up to {as_of}: load usage before training upgrades"
        )
    history_start = min(usage["usage_date"])
    label_days = gap_days + horizon_days
    schedule = plan_cutoffs(history_start, as_of, label_days=label_days, step_days=step_days)
    logger.info(
        "training upgrade model: %d training cutoffs %s..%s, test cutoff %s, gap %d days",
        len(schedule.train_cutoffs),
        schedule.train_cutoffs[0],
        schedule.train_cutoffs[-1],
        schedule.test_cutoff,
        gap_days,
    )

    def labelled(cutoff: date) -> pd.DataFrame:
        rows = _upgrade_rows(usage, users, cutoff, history_start)
        start = cutoff + timedelta(days=gap_days)
        after = _active_day_counts(usage, start, start + timedelta(days=horizon_days))
        index = pd.MultiIndex.from_frame(rows[["user_key", "application_id"]])
        rows["rate_after"] = after.reindex(index).fillna(0).to_numpy() / horizon_days
        projected = _projected_rate(
            usage,
            cutoff - timedelta(days=84),
            start + timedelta(days=horizon_days),
            cutoff + timedelta(days=91),
        )
        rows["rate_projected"] = projected.reindex(index).fillna(0).to_numpy()
        return rows

    def upgraded(rows: pd.DataFrame) -> pd.Series:
        # The line through weekly rates before and after the cutoff, projected a quarter ahead,
        # lands in a higher level than the trailing 90 days: the user needs the next tier
        # within a quarter. A single unusual window barely tilts the line, so noise does not.
        return (_apply_levels(rows, thresholds, "rate_projected") > rows["level"]).astype(int)

    train = pd.concat([labelled(c) for c in schedule.train_cutoffs], ignore_index=True)
    thresholds = _upgrade_thresholds(train, random_state)
    train["level"] = _apply_levels(train, thresholds, "rate_90")
    y_train = upgraded(train)

    test = labelled(schedule.test_cutoff)
    test["level"] = _apply_levels(test, thresholds, "rate_90")
    y_test = upgraded(test)

    parameters = {
        "horizon_days": horizon_days,
        "gap_days": gap_days,
        "step_days": step_days,
        "random_state": random_state,
        "learning_rate": learning_rate,
        "max_iter": max_iter,
        "max_depth": max_depth,
        "n_threads": n_threads,
        "level_thresholds": thresholds,
    }
    pipeline = build_classifier_pipeline(
        UPGRADE_NUMERIC,
        ["application_id"],
        learning_rate=learning_rate,
        max_iter=max_iter,
        max_depth=max_depth,
        random_state=random_state,
    )
    model = _fit(pipeline, train, y_train.to_numpy(), parameters, n_threads)

    test_scores = _scores(model, test, n_threads)
    metrics = _split_metrics(ranking_metrics(y_test, test_scores), schedule, label_days, len(train))
    baseline = _split_metrics(
        ranking_metrics(y_test, test[UPGRADE_BASELINE_COLUMN].to_numpy(float)),
        schedule,
        label_days,
        len(train),
    )
    logger.info(
        "upgrade model roc_auc %s (baseline %s) on %d test rows",
        metrics["roc_auc"],
        baseline["roc_auc"],
        metrics["n_test"],
    )

    fitted = UpgradeModel(pipeline=model, thresholds=thresholds, n_threads=n_threads)
    predictions = _upgrade_predictions(
        fitted, usage, assignments, users, as_of, history_start, tiers
    )
    return ClassifierResult(predictions, metrics, baseline, fitted, parameters)


def score_upgrades(
    model: UpgradeModel,
    daily_usage: pd.DataFrame,
    assignments: pd.DataFrame,
    users: pd.DataFrame,
    as_of: date,
    *,
    tiers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score user-apps active in the 90 days before as_of with a fitted UpgradeModel.

    Rows, features, levels and tier names are built as train_upgrade_model builds its own
    predictions, so scoring the training data again returns the training-time predictions.
    Returns an empty frame when daily_usage has no active rows up to as_of.

    Raises:
        TypeError: When model is not an UpgradeModel, for example a bare Pipeline saved by an
            older version. Retrain to replace it.
    """
    fitted = _require_model(model, UpgradeModel)
    usage = clean_usage(daily_usage, as_of)
    if usage.empty:
        logger.warning("no active usage up to %s: no upgrade predictions", as_of)
        return pd.DataFrame(columns=UPGRADE_PREDICTION_COLUMNS)
    history_start = min(usage["usage_date"])
    return _upgrade_predictions(fitted, usage, assignments, users, as_of, history_start, tiers)


def _require_model(model, kind: type):
    if not isinstance(model, kind):
        raise TypeError(
            f"expected a {kind.__name__}, got {type(model).__name__}: the saved model predates "
            "this version, so retrain it (licpipe retrain)"
        )
    return model


def _upgrade_predictions(
    model: UpgradeModel, usage, assignments, users, as_of, history_start, tiers
) -> pd.DataFrame:
    rows = _upgrade_rows(usage, users, as_of, history_start)
    rows["level"] = _apply_levels(rows, model.thresholds, "rate_90")
    held = assignments[["user_key", "application_id"]].drop_duplicates()
    used = usage[["user_key", "application_id"]].drop_duplicates()
    pairs = pd.concat([held, used]).drop_duplicates()
    rows = rows.merge(pairs, on=["user_key", "application_id"])
    rows["probability"] = _scores(model.pipeline, rows, model.n_threads)
    return _name_tiers(rows, model.thresholds, tiers)


def _name_tiers(rows: pd.DataFrame, thresholds: dict, tiers: pd.DataFrame | None) -> pd.DataFrame:
    rows = rows.reset_index(drop=True)
    levels = _apply_levels(rows, thresholds, "rate_90")
    rows["current_tier"] = [LEVEL_NAMES[level] for level in levels]
    if tiers is not None and len(tiers):
        known = tiers[["user_key", "application_id", "tier"]].drop_duplicates(
            ["user_key", "application_id"]
        )
        rows = rows.merge(known, on=["user_key", "application_id"], how="left")
        rows["current_tier"] = rows.pop("tier").fillna(rows["current_tier"])

    def predicted(row) -> str:
        level = TIER_LEVELS.get(row.current_tier, 0)
        if row.probability >= 0.5 and level < 3:
            return LEVEL_NAMES[level + 1]
        return row.current_tier

    rows["predicted_tier"] = [predicted(r) for r in rows.itertuples()]
    return (
        rows[UPGRADE_PREDICTION_COLUMNS]
        .sort_values(["application_id", "user_key"])
        .reset_index(drop=True)
    )


def _employees(users: pd.DataFrame, cutoff: date) -> pd.DataFrame:
    """Return HR employees, not service or external accounts, employed on cutoff."""
    people = users.drop_duplicates("user_key").copy()
    hire = to_date_series(people["hire_date"]) if "hire_date" in people else None
    end = to_date_series(people["termination_date"]) if "termination_date" in people else None
    if "is_in_hr" in people.columns:
        keep = people["is_in_hr"].eq(True)
    else:
        keep = pd.Series(True, index=people.index)
    for flag in ("is_service_account", "is_external"):
        if flag in people.columns:
            keep &= ~people[flag].eq(True)
    if hire is not None:
        keep &= hire.map(lambda d: pd.isna(d) or d <= cutoff).astype(bool)
    if end is not None:
        keep &= end.map(lambda d: pd.isna(d) or d > cutoff).astype(bool)
    people = people[keep].copy()
    people["hire_date"] = hire[keep] if hire is not None else None
    return people


def _peer_share(
    rows: pd.DataFrame, people: pd.DataFrame, users_of_app: pd.DataFrame, column: str
) -> np.ndarray:
    """Return, per row, the share of the candidate's `column` peers who use its application.

    The candidate never used the application, so it is only removed from the denominator.
    """
    size = people.groupby(column)["user_key"].nunique()
    counts = users_of_app.merge(people[["user_key", column]], on="user_key")
    counts = counts.groupby([column, "application_id"])["user_key"].nunique()
    index = pd.MultiIndex.from_frame(rows[[column, "application_id"]])
    numerator = counts.reindex(index).fillna(0).to_numpy()
    denominator = size.reindex(rows[column]).to_numpy(dtype=float) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, 0.0)


def _provisioning_rows(
    usage: pd.DataFrame,
    users: pd.DataFrame,
    cutoff: date,
    applications: list[str],
    held: set,
    *,
    new_hire_days: int = NEW_HIRE_DAYS,
    peer_window_days: int = PEER_WINDOW_DAYS,
) -> pd.DataFrame:
    """Return one row per employee and application, leaving out pairs used by cutoff or held.

    Peer shares count employees in the same department, or role, who used the application in
    the peer_window_days before the cutoff.
    """
    people = _employees(users, cutoff)
    past = usage[usage["usage_date"] <= cutoff]
    excluded = set(zip(past["user_key"], past["application_id"], strict=True)) | held
    recent = past[past["usage_date"] > cutoff - timedelta(days=peer_window_days)]
    users_of_app = recent[["user_key", "application_id"]].drop_duplicates()

    people["department"] = people["department"].fillna("unknown").astype(str)
    people["role"] = people["role"].fillna("unknown").astype(str)
    rows = people[["user_key", "department", "role", "hire_date"]].merge(
        pd.DataFrame({"application_id": applications}), how="cross"
    )
    pair_excluded = [
        (u, a) in excluded for u, a in zip(rows["user_key"], rows["application_id"], strict=True)
    ]
    rows = rows[~np.array(pair_excluded, dtype=bool)].reset_index(drop=True)

    rows["peer_share_department"] = _peer_share(rows, people, users_of_app, "department")
    rows["peer_share_role"] = _peer_share(rows, people, users_of_app, "role")
    tenure = [np.nan if pd.isna(d) else (cutoff - d).days for d in rows["hire_date"]]
    rows["tenure_days"] = np.array(tenure, dtype=float)
    rows["is_new_hire"] = (rows["tenure_days"] <= new_hire_days).astype(int)
    rows["tenure_days"] = rows["tenure_days"].fillna(-1.0)
    rows["cutoff"] = cutoff
    return rows


def train_provisioning_model(
    daily_usage: pd.DataFrame,
    assignments: pd.DataFrame,
    users: pd.DataFrame,
    as_of: date,
    *,
    horizon_days: int = 30,
    random_state: int = 0,
    step_days: int = 7,
    learning_rate: float = 0.1,
    max_iter: int = 200,
    max_depth: int | None = 3,
    n_threads: int | None = 1,
) -> ProvisioningResult:
    """Train a model of which employees start using an application within horizon_days.

    Candidates are HR employees (not service or external accounts, employed at the cutoff) who
    have not used the application. The label at cutoff c is a first use in (c, c + horizon].
    The test cutoff is as_of - horizon. The baseline score is the department peer share.
    Predictions at as_of leave out employees who hold or have used the application, and
    people whose hr_status is not active. n_threads caps OpenMP threads as in
    train_upgrade_model.
    """
    usage = clean_usage(daily_usage, as_of)
    if usage.empty:
        raise ValueError(
            f"daily_usage has no active rows up to {as_of}: load usage before training provisioning"
        )
    history_start = min(usage["usage_date"])
    schedule = plan_cutoffs(history_start, as_of, label_days=horizon_days, step_days=step_days)
    applications = sorted(usage["application_id"].unique())
    logger.info(
        "training provisioning model: %d training cutoffs, test cutoff %s, %d applications",
        len(schedule.train_cutoffs),
        schedule.test_cutoff,
        len(applications),
    )

    def labelled(cutoff: date) -> tuple[pd.DataFrame, np.ndarray]:
        rows = _provisioning_rows(usage, users, cutoff, applications, held=set())
        future = _active_day_counts(usage, cutoff, cutoff + timedelta(days=horizon_days))
        index = pd.MultiIndex.from_frame(rows[["user_key", "application_id"]])
        return rows, (future.reindex(index).fillna(0).to_numpy() > 0).astype(int)

    parts = [labelled(c) for c in schedule.train_cutoffs]
    train = pd.concat([p[0] for p in parts], ignore_index=True)
    y_train = np.concatenate([p[1] for p in parts])
    test, y_test = labelled(schedule.test_cutoff)

    parameters = {
        "horizon_days": horizon_days,
        "step_days": step_days,
        "random_state": random_state,
        "learning_rate": learning_rate,
        "max_iter": max_iter,
        "max_depth": max_depth,
        "n_threads": n_threads,
        "new_hire_days": NEW_HIRE_DAYS,
        "peer_window_days": PEER_WINDOW_DAYS,
    }
    pipeline = build_classifier_pipeline(
        PROVISIONING_NUMERIC,
        PROVISIONING_CATEGORICAL,
        learning_rate=learning_rate,
        max_iter=max_iter,
        max_depth=max_depth,
        random_state=random_state,
    )
    model = _fit(pipeline, train, y_train, parameters, n_threads)

    scores = _scores(model, test, n_threads)
    metrics = _split_metrics(ranking_metrics(y_test, scores), schedule, horizon_days, len(train))
    baseline = _split_metrics(
        ranking_metrics(y_test, test[PROVISIONING_BASELINE_COLUMN].to_numpy(float)),
        schedule,
        horizon_days,
        len(train),
    )
    logger.info(
        "provisioning model roc_auc %s (baseline %s) on %d test rows",
        metrics["roc_auc"],
        baseline["roc_auc"],
        metrics["n_test"],
    )

    fitted = ProvisioningModel(pipeline=model, applications=applications, n_threads=n_threads)
    predictions = _provisioning_predictions(fitted, usage, assignments, users, as_of)
    return ClassifierResult(predictions, metrics, baseline, fitted, parameters)


def score_provisioning(
    model: ProvisioningModel,
    daily_usage: pd.DataFrame,
    assignments: pd.DataFrame,
    users: pd.DataFrame,
    as_of: date,
) -> pd.DataFrame:
    """Score employees and applications they lack at as_of with a fitted ProvisioningModel.

    Candidates and features are built as train_provisioning_model builds its own predictions,
    over the applications the model was trained on, so scoring the training data again returns
    the training-time predictions.

    Raises:
        TypeError: When model is not a ProvisioningModel, for example a bare Pipeline saved by
            an older version. Retrain to replace it.
    """
    fitted = _require_model(model, ProvisioningModel)
    usage = clean_usage(daily_usage, as_of)
    return _provisioning_predictions(fitted, usage, assignments, users, as_of)


def _provisioning_predictions(
    model: ProvisioningModel, usage, assignments, users, as_of
) -> pd.DataFrame:
    held = set(zip(assignments["user_key"], assignments["application_id"], strict=True))
    current = _provisioning_rows(
        usage,
        users,
        as_of,
        model.applications,
        held,
        new_hire_days=model.new_hire_days,
        peer_window_days=model.peer_window_days,
    )
    if "hr_status" in users.columns:
        active_people = set(users.loc[users["hr_status"].eq("active"), "user_key"])
        current = current[current["user_key"].isin(active_people)]
    current = current.copy()
    current["probability"] = _scores(model.pipeline, current, model.n_threads)
    predictions = current[PROVISIONING_PREDICTION_COLUMNS]
    return predictions.sort_values(["application_id", "user_key"]).reset_index(drop=True)


def upgrade_baseline_scores(daily_usage: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Score user-apps by the upgrade baseline at as_of: active days in the last 30 days.

    This is the score train_upgrade_model's baseline metrics rank the held-out rows by. Pairs
    without use in the 30 days are absent and score 0.
    """
    usage = clean_usage(daily_usage, as_of)
    counts = _active_day_counts(usage, as_of - timedelta(days=30), as_of)
    return counts.rename("score").astype(float).reset_index()[BASELINE_SCORE_COLUMNS]


def provisioning_baseline_scores(
    daily_usage: pd.DataFrame, users: pd.DataFrame, as_of: date
) -> pd.DataFrame:
    """Score employees and applications by the provisioning baseline at as_of.

    The score is the share of the employee's department peers who used the application in the
    PEER_WINDOW_DAYS before as_of, computed as train_provisioning_model computes its baseline.
    Candidates are built as in training: employees at as_of and every application in the usage,
    leaving out pairs the employee has already used.
    """
    usage = clean_usage(daily_usage, as_of)
    applications = sorted(usage["application_id"].unique())
    rows = _provisioning_rows(usage, users, as_of, applications, held=set())
    rows = rows.rename(columns={PROVISIONING_BASELINE_COLUMN: "score"})
    return rows[BASELINE_SCORE_COLUMNS].reset_index(drop=True)
