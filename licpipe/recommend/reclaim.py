"""Reclaim candidates: terminated holders, idle seats and never-used seats, with exemptions."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pandas as pd

from licpipe.ml.anomalies import DEPROVISIONED_IDP_STATUSES
from licpipe.ml.features import to_date, to_date_series

logger = logging.getLogger(__name__)

# Reasons for terminated or deprovisioned holders start with these, which marks them priority 1.
LEAVER_REASON_PREFIXES = ("Terminated in HR", "Account is")

RECLAIM_COLUMNS = [
    "user_key",
    "application_id",
    "sku",
    "status",
    "reason",
    "days_since_last_use",
    "last_used_on",
    "next_expected_on",
]


def _flag(person: dict, name: str) -> bool:
    return person.get(name) is True or person.get(name) == 1


def _exemption(person: dict) -> str | None:
    """Return why a person's seats are exempt from reclaim, or None."""
    if _flag(person, "is_exempt_from_reclamation") or _flag(person, "is_exempt_from_reclaim"):
        return "marked exempt from reclaim"
    if person.get("hr_status") == "leave":
        return "on leave in HR"
    if _flag(person, "is_service_account"):
        return "a service account"
    # External guests are not exempt: an idle guest still occupies a billable seat.
    return None


def _termination(person: dict, as_of: date) -> str | None:
    """Return the reclaim reason for a person who left or was deprovisioned, or None."""
    ended = to_date(person.get("termination_date"))
    if person.get("hr_status") == "terminated" or (ended is not None and ended <= as_of):
        when = f"on {ended.isoformat()}" if ended is not None else "(date not recorded)"
        return f"Terminated in HR {when} and still holds the licence."
    idp_status = person.get("idp_status")
    if isinstance(idp_status, str) and idp_status.lower() in DEPROVISIONED_IDP_STATUSES:
        return (
            f"Account is {idp_status.lower()} in the identity provider and still holds the licence."
        )
    if person.get("account_status") == "deleted":
        deleted_on = to_date(person.get("m365_deleted_date"))
        when = f" on {deleted_on.isoformat()}" if deleted_on is not None else ""
        return f"Account is deleted in Microsoft 365{when} and still holds the licence."
    return None


def _held_back(person: dict, assignment: dict) -> tuple[str, str] | None:
    """Return (status, reason) when an idle seat must be checked by a person before reclaim.

    Microsoft 365's Is Deleted flag is unreliable: an account flagged deleted but active
    recently, or active in HR or the IdP, is left for review. A person missing from the latest
    Microsoft 365 report may have been closed (Microsoft drops closed accounts' rows within
    about 30 days), so absence from the report is not inactivity.
    """
    if person.get("account_status") == "deleted_flag_conflict":
        return "review", (
            "Microsoft 365 flags the account deleted, but it was active recently or HR or the "
            "identity provider lists it active: check the account before reclaiming."
        )
    if assignment.get("source") == "m365" and person.get("m365_report_status") == (
        "absent_from_report"
    ):
        last = to_date(person.get("m365_last_reported_on"))
        since = f" since {last.isoformat()}" if last is not None else ""
        return "absent_from_report", (
            f"Missing from the latest Microsoft 365 usage report{since}, so its use is unknown: "
            "check whether the account was closed."
        )
    return None


def _idle_status(row: dict, window: int, grace_days: int, as_of: date) -> tuple[str, str] | None:
    """Return (status, reason) for an idle or never-used seat, or None when it is in use."""
    assigned_on = row.get("assigned_on")
    in_grace = assigned_on is not None and (as_of - assigned_on).days < grace_days
    days_idle = row.get("days_since_last_use")

    if days_idle is None:
        if in_grace:
            return "grace", (
                f"Never used, but assigned (or first seen assigned) on {assigned_on}, within the "
                f"{grace_days}-day grace period."
            )
        since = f"since {assigned_on}" if assigned_on is not None else "(assignment date unknown)"
        return "reclaim", f"Never used {since}."

    if days_idle < window:
        return None
    next_on = row.get("next_expected_on")
    period = row.get("period_days")
    if row.get("is_periodic") and next_on is not None and period:
        if next_on <= as_of + timedelta(days=int(period)):
            return "intermittent", (
                f"Idle {days_idle} days, but use repeats every {period} days and is next "
                f"expected on {next_on}."
            )
    if in_grace:
        return "grace", (
            f"Idle {days_idle} days, but assigned (or first seen assigned) on {assigned_on}, "
            f"within the {grace_days}-day grace period."
        )
    return "reclaim", (
        f"No use for {days_idle} days (threshold {window}); last used on {row.get('last_used_on')}."
    )


def _observed_applications(features: pd.DataFrame) -> set:
    """Return the applications that some loaded source reports use of, for anyone."""
    if features.empty or "last_used_on" not in features.columns:
        return set()
    used = features[features["last_used_on"].notna()]
    return set(used["application_id"].dropna())


def _unmeasured_reason(application: str) -> str:
    return (
        f"No loaded source reports use of {application}, so idleness cannot be judged. "
        "Load a usage source for it (SSO sign-ins, the vendor's activity report) to judge it."
    )


def find_reclaim_candidates(
    features: pd.DataFrame,
    assignments: pd.DataFrame,
    users: pd.DataFrame,
    as_of: date,
    *,
    inactivity_days: int = 60,
    per_application_days: dict | None = None,
    grace_days: int = 60,
) -> pd.DataFrame:
    """Classify each idle, never-used or terminated assignment as a reclaim decision.

    Rules, first match wins: terminated in HR (or deprovisioned in the IdP) gives reclaim at
    once. Then seats of people exempt, on leave or service accounts give exempt,
    when they are idle. Idle for at least the window gives intermittent when a periodic pattern
    expects use within one period, grace when assigned under grace_days ago, else reclaim.
    Never used gives grace inside grace_days and reclaim after it. Seats in use are not listed.
    Deleted Microsoft 365 accounts are reclaimed at once. An idle seat whose Is Deleted flag
    conflicts with recent activity gives review. An idle Microsoft 365 seat of a person
    missing from the latest report gives absent_from_report.
    Idle seats of an application that no loaded source reports any use of (an Adobe user export
    alone, a Slack member list without analytics) give no_usage_data instead of reclaim,
    because "never used" there only means "never measured".
    """
    windows = per_application_days or {}
    observed = _observed_applications(features)
    people = users.drop_duplicates("user_key").set_index("user_key").to_dict("index")
    keys = ["user_key", "application_id"]
    feature_rows = features.drop_duplicates(keys).set_index(keys).to_dict("index")
    held = assignments.copy()
    held["assigned_on"] = to_date_series(held["assigned_on"])

    rows = []
    for assignment in held.to_dict("records"):
        key = (assignment["user_key"], assignment["application_id"])
        person = people.get(assignment["user_key"], {})
        feature = feature_rows.get(key, {})
        last_used = feature.get("last_used_on")
        last_used = None if last_used is None or pd.isna(last_used) else last_used
        days_idle = feature.get("days_since_last_use")
        days_idle = None if days_idle is None or pd.isna(days_idle) else int(days_idle)
        # Days idle are clipped to the feature history length, so a sentinel date cannot
        # inflate them.
        history = feature.get("history_days")
        if days_idle is not None and history is not None and not pd.isna(history):
            days_idle = min(days_idle, int(history))
        next_on = feature.get("next_expected_on")
        next_on = None if next_on is None or pd.isna(next_on) else next_on
        period = feature.get("period_days")
        row = {
            "assigned_on": assignment["assigned_on"],
            "days_since_last_use": days_idle,
            "last_used_on": last_used,
            "next_expected_on": next_on,
            "is_periodic": bool(feature.get("is_periodic") is True),
            "period_days": None if period is None or pd.isna(period) else int(period),
        }

        window = int(windows.get(assignment["application_id"], inactivity_days))
        reason = _termination(person, as_of)
        status = "reclaim" if reason else None
        if status is None:
            decision = _idle_status(row, window, grace_days, as_of)
            if decision is None:
                continue
            status, reason = decision
            held_back = _held_back(person, assignment) if status == "reclaim" else None
            if held_back is not None:
                status, reason = held_back
            if assignment["application_id"] not in observed:
                application = assignment.get("application") or assignment["application_id"]
                status, reason = "no_usage_data", _unmeasured_reason(application)
            exemption = _exemption(person)
            if exemption is not None:
                status, reason = (
                    "exempt",
                    f"{reason} Not reclaimed: the holder is {exemption}.",
                )

        rows.append(
            {
                "user_key": assignment["user_key"],
                "application_id": assignment["application_id"],
                "sku": assignment.get("sku"),
                "status": status,
                "reason": reason,
                "days_since_last_use": days_idle,
                "last_used_on": last_used,
                "next_expected_on": next_on,
            }
        )

    result = pd.DataFrame(rows, columns=RECLAIM_COLUMNS)
    result["days_since_last_use"] = result["days_since_last_use"].astype("Int64")
    counts = result["status"].value_counts().to_dict()
    logger.info("reclaim candidates as of %s: %s", as_of, counts)
    return result.sort_values(["application_id", "user_key", "sku"]).reset_index(drop=True)
