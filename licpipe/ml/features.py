"""Per user and application activity features computed from the usage and assignment marts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd

from licpipe.ml.periodicity import detect_periodic_use

logger = logging.getLogger(__name__)

# Dates before this are export sentinels (1970-01-01, 0001-01-01), never real activity.
MIN_VALID_DATE = date(2000, 1, 1)

TREND_WEEKS = 12

FEATURE_COLUMNS = [
    "user_key",
    "application_id",
    "application",
    "is_assigned",
    "assigned_on",
    "active_days_7",
    "active_days_30",
    "active_days_90",
    "sessions_90",
    "minutes_90",
    "events_90",
    "features_used_90",
    "trend",
    "days_since_last_use",
    "last_used_on",
    "first_used_on",
    "history_days",
    "is_periodic",
    "period_days",
    "next_expected_on",
    "periodicity_evidence",
    "peer_share_department",
    "peer_share_role",
    "tenure_days",
]


def to_date_series(values: pd.Series) -> pd.Series:
    """Convert a column to python dates, mapping sentinel dates before 2000 to None."""
    parsed = pd.to_datetime(values, errors="coerce")
    valid = parsed.notna() & (parsed >= pd.Timestamp(MIN_VALID_DATE))
    dates = parsed.dt.date.to_numpy(dtype=object)
    dates[~valid.to_numpy()] = None
    return pd.Series(dates, index=values.index, dtype=object)


def to_date(value) -> date | None:
    """Convert one value to a python date, returning None for NULL or a sentinel before 2000."""
    if value is None or (not isinstance(value, str | date) and pd.isna(value)):
        return None
    parsed = pd.to_datetime(value, errors="coerce")
    if pd.isna(parsed) or parsed < pd.Timestamp(MIN_VALID_DATE):
        return None
    return parsed.date()


def clean_usage(
    daily_usage: pd.DataFrame, as_of: date, *, include_backfilled: bool = False
) -> pd.DataFrame:
    """Return active usage rows dated from 2000 up to as_of, with usage_date as python dates.

    Rows with a NULL or sentinel date are dropped and counted in the log, because a 1970 date
    would otherwise produce about 19,800 days since last use. Backfilled days (a report's last
    activity dates before its first refresh) are dropped unless include_backfilled, because
    they show only the users idle since and would read as days of low use.
    """
    usage = daily_usage.copy()
    if not include_backfilled and "is_backfilled" in usage.columns:
        usage = usage[~usage["is_backfilled"].fillna(False).astype(bool)]
    usage["usage_date"] = to_date_series(usage["usage_date"])
    invalid = usage["usage_date"].isna()
    if invalid.any():
        logger.warning(
            "dropped %d usage rows with a NULL or pre-2000 usage_date", int(invalid.sum())
        )
    usage = usage[~invalid]
    usage = usage[usage["usage_date"] <= as_of]
    if "is_active" in usage.columns:
        usage = usage[usage["is_active"].fillna(False).astype(bool)]
    return usage


def _window_counts(usage: pd.DataFrame, as_of: date, windows: Sequence[int]) -> pd.DataFrame:
    keys = ["user_key", "application_id"]
    out = usage.groupby(keys)["usage_date"].agg(last_used_on="max", first_used_on="min")
    for window in windows:
        start = as_of - timedelta(days=window)
        recent = usage[usage["usage_date"] > start]
        out[f"active_days_{window}"] = recent.groupby(keys)["usage_date"].nunique()

    recent_90 = usage[usage["usage_date"] > as_of - timedelta(days=90)]
    grouped = recent_90.groupby(keys)
    for column in ("sessions", "minutes", "events"):
        if column in recent_90.columns:
            out[f"{column}_90"] = grouped[column].sum(min_count=1)
        else:
            out[f"{column}_90"] = np.nan
    # Distinct features cannot be summed across days, so features_used_90 is the daily maximum.
    if "features_used" in recent_90.columns:
        out["features_used_90"] = grouped["features_used"].max()
    else:
        out["features_used_90"] = np.nan
    return out.reset_index()


def _weekly_trend(usage: pd.DataFrame, as_of: date, history_start: date) -> pd.Series:
    """Return the least-squares slope of weekly active days over the last 12 weeks, per week.

    Weeks end on as_of. Weeks that start before the history begins are left out, so a short
    history does not read as growth from zero.
    """
    keys = ["user_key", "application_id"]
    week_index = usage["usage_date"].map(lambda d: (as_of - d).days // 7)
    recent = usage.assign(week=week_index)
    recent = recent[recent["week"] < TREND_WEEKS]
    full_weeks = min(TREND_WEEKS, ((as_of - history_start).days + 1) // 7)
    if full_weeks < 2:
        return pd.Series(dtype=float, name="trend")

    recent = recent[recent["week"] < full_weeks]
    counts = recent.groupby(keys + ["week"])["usage_date"].nunique().unstack(fill_value=0)
    counts = counts.reindex(columns=range(full_weeks), fill_value=0)

    # Column 0 is the latest week, so x runs backwards in time to make growth positive.
    x = -np.arange(full_weeks, dtype=float)
    x_centred = x - x.mean()
    slopes = (counts.to_numpy(dtype=float) @ x_centred) / float(x_centred @ x_centred)
    return pd.Series(slopes, index=counts.index, name="trend")


def _periodicity(usage: pd.DataFrame, as_of: date) -> pd.DataFrame:
    rows = []
    for (user_key, application_id), group in usage.groupby(["user_key", "application_id"]):
        pattern = detect_periodic_use(list(group["usage_date"]), as_of)
        rows.append(
            {
                "user_key": user_key,
                "application_id": application_id,
                "is_periodic": pattern.is_periodic,
                "period_days": pattern.period_days,
                "next_expected_on": pattern.next_expected_on,
                "periodicity_evidence": pattern.evidence,
            }
        )
    columns = [
        "user_key",
        "application_id",
        "is_periodic",
        "period_days",
        "next_expected_on",
        "periodicity_evidence",
    ]
    return pd.DataFrame(rows, columns=columns)


def _peer_shares(features: pd.DataFrame, users: pd.DataFrame, group_column: str) -> pd.Series:
    """Return the share of the user's other peers in group_column active on the app in 30 days.

    The user is left out of numerator and denominator so the feature never contains its own
    label. Users with no peers, or no value in group_column, get NaN.
    """
    groups = users[["user_key", group_column]].dropna().drop_duplicates("user_key")
    group_size = groups.groupby(group_column)["user_key"].nunique()

    active = features[features["active_days_30"] > 0][["user_key", "application_id"]]
    active = active.merge(groups, on="user_key")
    active_count = active.groupby([group_column, "application_id"])["user_key"].nunique()

    frame = features[["user_key", "application_id", "active_days_30"]].merge(
        groups, on="user_key", how="left"
    )
    index = pd.MultiIndex.from_arrays([frame[group_column], frame["application_id"]])
    numerator = active_count.reindex(index).fillna(0).to_numpy()
    numerator = numerator - (frame["active_days_30"].to_numpy() > 0)
    denominator = group_size.reindex(frame[group_column]).to_numpy() - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(denominator > 0, numerator / denominator, np.nan)
    return pd.Series(share, index=features.index)


def _pairs(usage: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    keys = ["user_key", "application_id"]
    assigned = assignments.copy()
    assigned["assigned_on"] = to_date_series(assigned["assigned_on"])
    assigned = assigned.groupby(keys, as_index=False).agg(
        assigned_on=("assigned_on", "min"), application=("application", "first")
    )
    assigned["is_assigned"] = True

    used = usage.groupby(keys, as_index=False).agg(application=("application", "first"))
    pairs = assigned.merge(used, on=keys, how="outer", suffixes=("", "_used"))
    pairs["application"] = pairs["application"].fillna(pairs.pop("application_used"))
    pairs["is_assigned"] = pairs["is_assigned"].eq(True)
    pairs["assigned_on"] = (
        pairs["assigned_on"].astype(object).where(pairs["assigned_on"].notna(), None)
    )
    return pairs


def build_user_features(
    daily_usage: pd.DataFrame,
    assignments: pd.DataFrame,
    users: pd.DataFrame,
    as_of: date,
    windows: Sequence[int] = (7, 30, 90),
    *,
    include_periodicity: bool = True,
) -> pd.DataFrame:
    """Build one feature row per (user_key, application_id) assigned or used up to as_of.

    Day counts are distinct active days in the trailing window ending on as_of. Minutes are
    summed minutes of use. days_since_last_use counts from as_of, is NULL for never-used pairs
    and is clipped to the usage history length, so a sentinel date cannot inflate it.

    Args:
        daily_usage: fct_daily_usage rows.
        assignments: fct_license_assignments rows.
        users: dim_users rows (department, role and hire_date are read).
        as_of: The data's as-of date; nothing is computed from the wall clock.
        windows: Trailing windows in days for the active_days_<n> columns.
        include_periodicity: Skip the per-pair periodicity scan when False (used for training
            rows at many cutoffs, where it is not a model feature).
    """
    windows = tuple(sorted(set(windows) | {7, 30, 90}))
    logger.info("building user features as of %s from %d usage rows", as_of, len(daily_usage))
    usage = clean_usage(daily_usage, as_of)
    seen = clean_usage(daily_usage, as_of, include_backfilled=True)
    history_start = min(seen["usage_date"]) if len(seen) else as_of

    pairs = _pairs(seen, assignments)
    keys = ["user_key", "application_id"]
    features = pairs.merge(_window_counts(usage, as_of, windows), on=keys, how="left")
    # Last use also counts backfilled days: they are real days of use.
    last_seen = seen.groupby(keys)["usage_date"].max().rename("last_seen_on").reset_index()
    features = features.merge(last_seen, on=keys, how="left")
    features["last_used_on"] = features.pop("last_seen_on")
    for window in windows:
        column = f"active_days_{window}"
        features[column] = features[column].fillna(0).astype(int)

    trend = _weekly_trend(usage, as_of, history_start)
    features = features.merge(trend.reset_index(), on=keys, how="left") if len(trend) else features
    if "trend" not in features.columns:
        features["trend"] = np.nan
    features["trend"] = features["trend"].fillna(0.0).astype(float)

    history_days = (as_of - history_start).days + 1
    features["history_days"] = history_days
    features["days_since_last_use"] = pd.array(
        [
            None if pd.isna(d) else min((as_of - d).days, history_days)
            for d in features["last_used_on"]
        ],
        dtype="Int64",
    )
    for column in ("last_used_on", "first_used_on"):
        features[column] = features[column].astype(object).where(features[column].notna(), None)

    if include_periodicity:
        features = features.merge(_periodicity(usage, as_of), on=keys, how="left")
        features["is_periodic"] = features["is_periodic"].eq(True)
        features["period_days"] = features["period_days"].astype("Int64")
        features["next_expected_on"] = (
            features["next_expected_on"]
            .astype(object)
            .where(features["next_expected_on"].notna(), None)
        )
    else:
        features["is_periodic"] = False
        features["period_days"] = pd.array([None] * len(features), dtype="Int64")
        features["next_expected_on"] = None
        features["periodicity_evidence"] = None

    features["peer_share_department"] = _peer_shares(features, users, "department")
    features["peer_share_role"] = _peer_shares(features, users, "role")

    hire = users[["user_key", "hire_date"]].drop_duplicates("user_key").copy()
    hire["hire_date"] = to_date_series(hire["hire_date"])
    features = features.merge(hire, on="user_key", how="left")
    features["tenure_days"] = pd.array(
        [None if pd.isna(d) else (as_of - d).days for d in features.pop("hire_date")],
        dtype="Int64",
    )

    features = features[FEATURE_COLUMNS].sort_values(keys).reset_index(drop=True)
    logger.info("built %d user feature rows", len(features))
    return features
