"""Usage spikes and drops, compliance drift and zombie accounts, as usage_anomalies rows."""

from __future__ import annotations

import logging
from datetime import date

import numpy as np
import pandas as pd

from licpipe.ml.features import to_date, to_date_series

logger = logging.getLogger(__name__)

ANOMALY_COLUMNS = [
    "anomaly_type",
    "application_id",
    "user_key",
    "observed_on",
    "value",
    "expected",
    "score",
    "detail",
]
# Every detector returns these dtypes, so concatenating their outputs keeps float columns float
# even when one detector has no value for them (zombie accounts have no expected count).
ANOMALY_DTYPES = {
    column: "float64" if column in ("value", "expected", "score") else "object"
    for column in ANOMALY_COLUMNS
}

# 0.6745 is the normal quantile at 0.75, so 0.6745 * x / MAD is a z-score for normal data.
MAD_TO_Z = 0.6745

# The expected value for a day is the median of the same weekday over this many weeks around it.
WEEKDAY_WINDOW_WEEKS = 9

DEPROVISIONED_IDP_STATUSES = {"deprovisioned", "suspended", "deactivated", "disabled", "deleted"}


def _anomaly_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=ANOMALY_COLUMNS).astype(ANOMALY_DTYPES)


def _empty() -> pd.DataFrame:
    return _anomaly_frame([])


def _daily_active_users(daily_usage: pd.DataFrame) -> pd.DataFrame:
    """Return daily active users per application on every day seen in any application.

    A day missing for one application while others report it counts as 0 users. A day missing
    everywhere is a gap in the exports, not a drop, and is left out.
    """
    usage = daily_usage.copy()
    usage["usage_date"] = to_date_series(usage["usage_date"])
    usage = usage[usage["usage_date"].notna()]
    if "is_active" in usage.columns:
        usage = usage[usage["is_active"].eq(True)]
    if "is_backfilled" in usage.columns:
        usage = usage[~usage["is_backfilled"].eq(True)]
    counts = usage.groupby(["application_id", "usage_date"])["user_key"].nunique()
    days = sorted(usage["usage_date"].unique())
    table = counts.unstack("application_id").reindex(days).fillna(0)
    return table


# A quarter-end window lifts the expected count only when this lift is seen in 2+ quarters.
MIN_QUARTER_END_LIFT = 1.3


def _with_quarter_end_lift(series: pd.Series, expected: pd.Series) -> pd.Series:
    """Scale the expected count inside quarter-end windows by the lift seen in earlier ones."""
    from licpipe.ml.periodicity import _window_for

    windows = pd.Series([_window_for(day) for day in series.index], index=series.index)
    in_window = windows.notna()
    if not in_window.any():
        return expected
    ratio = (series / expected.clip(lower=1.0))[in_window]
    per_window = ratio.groupby(windows[in_window]).median()
    lifted = per_window[per_window >= MIN_QUARTER_END_LIFT]
    if len(lifted) < 2:
        return expected
    adjusted = expected.copy()
    adjusted[in_window] = expected[in_window] * float(lifted.median())
    return adjusted


def detect_usage_anomalies(
    daily_usage: pd.DataFrame, *, z_threshold: float = 3.5, min_change_users: int = 3
) -> pd.DataFrame:
    """Detect spikes and drops in daily active users per application.

    The expected value for a day is the rolling median of the same weekday over 9 weeks centred
    on it, which removes the weekly cycle and slow trends. The residual is divided by the square
    root of the expected count, and the score is its robust z-score: 0.6745 * (residual -
    median) / MAD over the application's residuals. A day is flagged when |score| reaches
    z_threshold, the residual itself is at least z_threshold Poisson standard deviations and the
    count differs from expected by at least min_change_users, so a quiet series does not flag a
    change of one or two users. A quarter-end lift seen in at least two quarters is part of
    the expected value, so a seasonal close is not reported as a spike. Applications
    whose residual MAD is 0 are skipped because no robust scale exists for them.
    """
    if daily_usage.empty:
        return _empty()
    table = _daily_active_users(daily_usage)
    weekdays = pd.Series([d.weekday() for d in table.index], index=table.index)

    rows = []
    for application_id in table.columns:
        series = table[application_id].astype(float)
        expected = pd.Series(index=series.index, dtype=float)
        for weekday in range(7):
            same_day = series[weekdays == weekday]
            expected[same_day.index] = same_day.rolling(
                WEEKDAY_WINDOW_WEEKS, center=True, min_periods=3
            ).median()
        expected = _with_quarter_end_lift(series, expected)
        # Dividing by the square root of the expected count puts busy weekdays and quiet
        # weekends on one scale, as for Poisson counts.
        residual = (series - expected) / np.sqrt(expected.clip(lower=1.0))
        valid = residual.dropna()
        if len(valid) < 14:
            continue
        median = float(valid.median())
        mad = float((valid - median).abs().median())
        if mad == 0:
            logger.info("skipped anomaly scoring for %s: residual MAD is 0", application_id)
            continue
        scores = MAD_TO_Z * (valid - median) / mad
        change = (series - expected).abs()[scores.index]
        # A day must also be z_threshold Poisson standard deviations away, so a series whose
        # residuals are unusually regular does not turn 4 users against 1 into an alarm.
        poisson_far = valid.abs() >= z_threshold
        flagged = (scores.abs() >= z_threshold) & poisson_far & (change >= min_change_users)
        for day, score in scores[flagged].items():
            kind = "spike" if score > 0 else "drop"
            rows.append(
                {
                    "anomaly_type": kind,
                    "application_id": application_id,
                    "user_key": None,
                    "observed_on": day,
                    "value": float(series[day]),
                    "expected": float(expected[day]),
                    "score": float(score),
                    "detail": (
                        f"{series[day]:.0f} daily active users against {expected[day]:.1f} "
                        f"expected for a {day:%A} (robust z {score:.1f}, "
                        f"threshold {z_threshold:.1f})"
                    ),
                }
            )
    logger.info("found %d usage anomalies", len(rows))
    return _anomaly_frame(rows)


def _install_counts(installs: pd.DataFrame | None) -> pd.Series | None:
    """Return distinct installed devices per SKU or application_id, when installs name one."""
    if installs is None or installs.empty:
        return None
    key = "sku" if "sku" in installs.columns else "application_id"
    if key not in installs.columns:
        logger.warning("installs have no sku or application_id column: install counts ignored")
        return None
    device = "device_id" if "device_id" in installs.columns else installs.columns[0]
    return installs.groupby(key)[device].nunique().rename(key)


def detect_compliance_drift(
    positions: pd.DataFrame, installs_or_none: pd.DataFrame | None
) -> pd.DataFrame:
    """Flag SKUs whose latest position has more seats assigned or installed than owned.

    Installed counts come from positions.installed, or from distinct devices in the installs
    frame when it carries an sku or application_id column and positions.installed is NULL.
    """
    if positions.empty:
        return _empty()
    frame = positions.copy()
    frame["position_date"] = to_date_series(frame["position_date"])
    latest = frame.sort_values("position_date").groupby("sku", as_index=False).tail(1)

    counts = _install_counts(installs_or_none)
    rows = []
    for position in latest.itertuples(index=False):
        owned = float(position.seats_owned or 0)
        installed = getattr(position, "installed", None)
        if pd.isna(installed) and counts is not None:
            key = position.sku if counts.name == "sku" else position.application_id
            installed = counts.get(key)
        checks = [("over_assigned", position.seats_assigned, "assigned")]
        checks.append(("over_installed", installed, "installed"))
        for kind, used, verb in checks:
            if used is None or pd.isna(used) or float(used) <= owned:
                continue
            rows.append(
                {
                    "anomaly_type": kind,
                    "application_id": position.application_id,
                    "user_key": None,
                    "observed_on": position.position_date,
                    "value": float(used),
                    "expected": owned,
                    "score": float(used) - owned,
                    "detail": (
                        f"SKU {position.sku} has {float(used):.0f} seats {verb} but "
                        f"{owned:.0f} owned on {position.position_date}"
                    ),
                }
            )
    logger.info("found %d compliance drift rows", len(rows))
    return _anomaly_frame(rows)


def detect_zombie_accounts(
    assignments: pd.DataFrame,
    users: pd.DataFrame,
    features: pd.DataFrame,
    *,
    as_of: date | None = None,
) -> pd.DataFrame:
    """Flag licences held by terminated people, IdP-deprovisioned accounts or never-used seats.

    Each assignment gets at most one row, in that order of precedence. observed_on is as_of
    when given, else the assignment date. value is days since assignment, when known.
    """
    if assignments.empty:
        return _empty()
    people = users.drop_duplicates("user_key").set_index("user_key")
    last_used = features.set_index(["user_key", "application_id"])["last_used_on"]
    rows = []
    for held in assignments.itertuples(index=False):
        person = people.loc[held.user_key] if held.user_key in people.index else None
        assigned_on = to_date(held.assigned_on)
        observed = as_of or assigned_on
        since = None if assigned_on is None or observed is None else (observed - assigned_on).days

        kind, detail = None, None
        hr_status = None if person is None else person.get("hr_status")
        idp_status = None if person is None else person.get("idp_status")
        if hr_status == "terminated":
            kind = "terminated_licensed"
            ended = person.get("termination_date")
            when = "" if pd.isna(ended) else f" on {ended}"
            detail = f"terminated in HR{when} but still holds {held.sku}"
        elif isinstance(idp_status, str) and idp_status.lower() in DEPROVISIONED_IDP_STATUSES:
            kind = "deprovisioned_licensed"
            detail = f"IdP status {idp_status} but still holds {held.sku}"
        else:
            used = last_used.get((held.user_key, held.application_id))
            if used is None or pd.isna(used):
                kind = "never_used"
                detail = f"holds {held.sku} since {assigned_on} with no recorded use"
        if kind is None:
            continue
        rows.append(
            {
                "anomaly_type": kind,
                "application_id": held.application_id,
                "user_key": held.user_key,
                "observed_on": observed,
                "value": None if since is None else float(since),
                "expected": None,
                "score": None if since is None else float(since),
                "detail": detail,
            }
        )
    logger.info("found %d zombie accounts", len(rows))
    return _anomaly_frame(rows)
