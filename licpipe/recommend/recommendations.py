"""The recommendations table: rule drafts with ids, money, priority and decision feedback."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date
from decimal import Decimal

import pandas as pd

from licpipe.recommend import rules
from licpipe.recommend.pricing import annual_from_monthly

logger = logging.getLogger(__name__)

# EVIDENCE_VERSION is part of every recommendation_id. Change it when the meaning of the
# evidence changes, so old decisions no longer match new recommendations.
EVIDENCE_VERSION = "1"

RECOMMENDATION_COLUMNS = [
    "recommendation_id",
    "action",
    "user_key",
    "user_email",
    "application_id",
    "application",
    "sku",
    "seats",
    "monthly_saving",
    "annual_saving",
    "currency",
    "reason",
    "evidence",
    "last_used_on",
    "days_since_last_use",
    "tier",
    "priority",
    "status",
]

# Evidence fields compared with a previous run's evidence to decide whether a rejection still holds.
FINGERPRINT_FIELDS = ["last_used_on", "tier", "seats_needed", "seats_owned", "target_sku"]

USER_ACTIONS = {"reclaim", "downgrade", "upgrade", "provision"}


def recommendation_id(action: str, user_key, sku, application_id) -> str:
    """Return a stable id from the action, user, SKU, application and evidence version."""
    parts = [EVIDENCE_VERSION, action, user_key or "", sku or "", application_id or ""]
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"evidence value {value!r} of type {type(value)} is not serialisable")


def _priorities(frame: pd.DataFrame) -> list[int]:
    """Rank rows 1 to 4: terminated or the largest saving 1, compliance or above-median 2,
    other savings 3, costs and zero-saving actions 4."""
    positive = frame.loc[frame["monthly_saving"] > 0, "monthly_saving"]
    largest = positive.max() if len(positive) else None
    median = positive.median() if len(positive) else None
    priorities = []
    for row in frame.itertuples(index=False):
        saving = row.monthly_saving
        if row.is_terminated or (largest is not None and saving == largest):
            priorities.append(1)
        elif row.action == "true_up" or (median is not None and saving >= median):
            priorities.append(2)
        elif saving > 0:
            priorities.append(3)
        else:
            priorities.append(4)
    return priorities


def _normalise_email(value) -> str:
    return "" if value is None or pd.isna(value) else str(value).strip().lower()


def _latest_decisions(decisions: pd.DataFrame | None) -> dict:
    """Return the latest decision per (user_email, sku, action) and per recommendation_id."""
    if decisions is None or decisions.empty:
        return {}
    frame = decisions.copy()
    frame["decided_at"] = pd.to_datetime(frame["decided_at"], errors="coerce")
    frame = frame.sort_values("decided_at", na_position="first")
    latest = {}
    for row in frame.to_dict("records"):
        key = (_normalise_email(row.get("user_email")), row.get("sku") or "", row.get("action"))
        latest[key] = row
        if row.get("recommendation_id"):
            latest[row["recommendation_id"]] = row
    return latest


def _fingerprint(evidence: dict) -> dict:
    """Return the evidence fields that reopen a rejected draft, as they read in stored JSON.

    The previous run's evidence comes back from JSON, where dates and Decimals are strings, so
    this run's values go through the same encoding before the two are compared.
    """
    fields = {k: evidence.get(k) for k in FINGERPRINT_FIELDS if k in evidence}
    return json.loads(json.dumps(fields, default=_json_default))


def _previous_evidence(previous: pd.DataFrame | None) -> dict:
    if previous is None or previous.empty:
        return {}
    return {
        row.recommendation_id: _fingerprint(json.loads(row.evidence))
        for row in previous.itertuples(index=False)
        if isinstance(row.evidence, str)
    }


def _apply_feedback(row: dict, decision: dict | None, previous: dict) -> str:
    """Return the status for a draft given its latest decision, noting the decision in evidence.

    A rejected draft stays suppressed unless its evidence changed: the user used the
    application after the decision, or its fingerprint differs from the previous run's. An
    accepted application-level draft is suppressed on the same terms, and an accepted user-level
    draft that appears again stays open because its assignment still exists.
    """
    if decision is None:
        return "open"
    kind = decision.get("decision")
    decided_at = decision.get("decided_at")
    decided_on = None if pd.isna(decided_at) else pd.Timestamp(decided_at).date()
    evidence = row["evidence"]
    evidence["previous_decision"] = {"decision": kind, "decided_on": decided_on}
    if kind not in ("rejected", "accepted"):
        return "open"
    if kind == "accepted" and row["action"] in USER_ACTIONS:
        evidence["previous_decision"]["note"] = "accepted but the assignment still exists"
        return "open"

    last_used = row.get("last_used_on")
    if last_used is not None and decided_on is not None and last_used > decided_on:
        evidence["previous_decision"]["reopened_because"] = (
            f"used on {last_used} after the decision"
        )
        return "open"
    before = previous.get(row["recommendation_id"])
    if before is not None and before != _fingerprint(evidence):
        evidence["previous_decision"]["reopened_because"] = "evidence changed since the decision"
        return "open"
    return "suppressed"


def build_recommendations(
    reclaim: pd.DataFrame,
    tiers: pd.DataFrame,
    upgrades: pd.DataFrame,
    provisioning: pd.DataFrame,
    forecasts: pd.DataFrame,
    skus: pd.DataFrame,
    positions: pd.DataFrame,
    concurrency: pd.DataFrame,
    decisions: pd.DataFrame,
    users: pd.DataFrame,
    as_of: date,
    *,
    renewal_buffer: float = 0.10,
    assignments: pd.DataFrame | None = None,
    daily_usage: pd.DataFrame | None = None,
    previous_recommendations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Build priced, explained recommendations with analytics.recommendations columns.

    Args:
        assignments: fct_license_assignments; without it downgrades and upgrades are priced only
            for applications with a single SKU.
        daily_usage: fct_daily_usage; without it no pool or convert_to_concurrent rows are made.
        previous_recommendations: The last published table, whose evidence tells whether a
            rejected recommendation's evidence has changed.
    """
    catalog = rules.sku_catalog(skus)
    held = rules.user_skus(assignments, catalog)
    drafts = rules.reclaim_drafts(reclaim, catalog)
    reclaimed = {(d["user_key"], d["application_id"]) for d in drafts}
    drafts += rules.downgrade_drafts(tiers, catalog, held, reclaimed)
    drafts += rules.upgrade_drafts(upgrades, catalog, held)
    drafts += rules.provision_drafts(provisioning, catalog, positions)
    freed: dict = {}
    for draft in drafts:
        if draft["action"] == "reclaim":
            freed[draft["sku"]] = freed.get(draft["sku"], 0) + int(draft["seats"])
    true_ups = rules.true_up_drafts(positions, catalog, freed)
    # Seats bought in a true-up are owned by the renewal, so sizing counts them.
    bought = {d["sku"]: d["seats"] for d in true_ups}
    drafts += rules.right_size_drafts(
        forecasts, catalog, concurrency, as_of, renewal_buffer, positions, bought, freed
    )
    drafts += true_ups
    drafts += rules.pool_drafts(daily_usage, positions, catalog, as_of, renewal_buffer)
    if not drafts:
        return pd.DataFrame(columns=RECOMMENDATION_COLUMNS)

    emails = users.drop_duplicates("user_key").set_index("user_key")["email"].to_dict()
    tier_of = {}
    if tiers is not None and not tiers.empty:
        tier_of = {(t.user_key, t.application_id): t.tier for t in tiers.itertuples(index=False)}
    names = skus.drop_duplicates("application_id").set_index("application_id")["application"]
    latest = _latest_decisions(decisions)
    previous = _previous_evidence(previous_recommendations)

    rows = []
    for draft in drafts:
        row = dict(draft)
        row["recommendation_id"] = recommendation_id(
            row["action"], row["user_key"], row["sku"], row["application_id"]
        )
        row["user_email"] = emails.get(row["user_key"]) if row["user_key"] else None
        row["application"] = names.get(row["application_id"])
        row["tier"] = tier_of.get((row["user_key"], row["application_id"]))
        if row["tier"] is not None:
            row["evidence"].setdefault("tier", row["tier"])
        sku_row = catalog.loc[row["sku"]] if row["sku"] in catalog.index else None
        row["currency"] = None if sku_row is None else sku_row["currency"]
        row["annual_saving"] = annual_from_monthly(row["monthly_saving"])

        key = (_normalise_email(row["user_email"]), row["sku"] or "", row["action"])
        decision = latest.get(row["recommendation_id"]) or latest.get(key)
        row["status"] = _apply_feedback(row, decision, previous)
        row["evidence"]["evidence_version"] = EVIDENCE_VERSION
        row["evidence"] = json.dumps(row["evidence"], sort_keys=True, default=_json_default)
        rows.append(row)

    frame = pd.DataFrame(rows)
    frame["priority"] = _priorities(frame)
    frame["days_since_last_use"] = frame["days_since_last_use"].astype("Int64")
    frame = frame.sort_values(
        ["priority", "monthly_saving", "recommendation_id"], ascending=[True, False, True]
    )
    logger.info(
        "built %d recommendations (%d suppressed) as of %s",
        len(frame),
        int((frame["status"] == "suppressed").sum()),
        as_of,
    )
    return frame[RECOMMENDATION_COLUMNS].reset_index(drop=True)
