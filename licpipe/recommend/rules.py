"""Rules that turn model outputs and seat positions into priced recommendation drafts.

Each rule returns a list of draft dicts with action, user_key, application_id, sku, seats,
monthly_saving (Decimal, negative for a cost), reason, evidence (dict), last_used_on,
days_since_last_use and is_terminated. recommendations.py adds ids, priority and feedback.
"""

from __future__ import annotations

import logging
import math
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd

from licpipe.ml.features import to_date_series
from licpipe.recommend.pricing import round_cents, to_decimal
from licpipe.recommend.reclaim import LEAVER_REASON_PREFIXES

logger = logging.getLogger(__name__)

PROBABILITY_THRESHOLD = 0.5

# A named SKU is a pooling candidate when its peak daily active users stay at or below this
# share of assigned seats over the last 90 days, with at least MIN_POOL_SEATS assigned.
POOL_PEAK_SHARE = 0.5
MIN_POOL_SEATS = 10
POOL_WINDOW_DAYS = 90


def sku_catalog(skus: pd.DataFrame) -> pd.DataFrame:
    """Return dim_skus indexed by sku, with price as the Decimal monthly unit price."""
    catalog = skus.drop_duplicates("sku").copy()
    catalog["price"] = [
        to_decimal(p, field="monthly_unit_price") for p in catalog["monthly_unit_price"]
    ]
    catalog["renewal_date"] = to_date_series(catalog["renewal_date"])
    return catalog.set_index("sku", drop=False)


def _missing(value) -> bool:
    return value is None or (not isinstance(value, str | Decimal) and pd.isna(value))


def _empty(frame: pd.DataFrame | None) -> bool:
    return frame is None or frame.empty


def _int(value, default: int = 0) -> int:
    return default if _missing(value) else int(value)


def _draft(action, user_key, application_id, sku, seats, saving, reason, evidence, **extra) -> dict:
    return {
        "action": action,
        "user_key": user_key,
        "application_id": application_id,
        "sku": sku,
        "seats": int(seats),
        "monthly_saving": round_cents(saving),
        "reason": reason,
        "evidence": evidence,
        "last_used_on": extra.get("last_used_on"),
        "days_since_last_use": extra.get("days_since_last_use"),
        "is_terminated": extra.get("is_terminated", False),
    }


def _price(catalog: pd.DataFrame, sku) -> Decimal:
    if _missing(sku) or sku not in catalog.index:
        return Decimal(0)
    price = catalog.at[sku, "price"]
    return Decimal(0) if price is None else price


def reclaim_drafts(reclaim: pd.DataFrame, catalog: pd.DataFrame) -> list[dict]:
    """Draft one reclaim per seat whose reclaim status is reclaim, saving one seat's price."""
    drafts = []
    if _empty(reclaim):
        return drafts
    for row in reclaim[reclaim["status"] == "reclaim"].itertuples(index=False):
        terminated = row.reason.startswith(LEAVER_REASON_PREFIXES)
        days = None if _missing(row.days_since_last_use) else int(row.days_since_last_use)
        last = None if _missing(row.last_used_on) else row.last_used_on
        evidence = {"last_used_on": last, "days_since_last_use": days, "rule": row.reason}
        drafts.append(
            _draft(
                "reclaim",
                row.user_key,
                row.application_id,
                row.sku,
                1,
                _price(catalog, row.sku),
                row.reason,
                evidence,
                last_used_on=last,
                days_since_last_use=days,
                is_terminated=terminated,
            )
        )
    return drafts


def _ladder(catalog: pd.DataFrame, sku) -> tuple[pd.DataFrame, Decimal] | None:
    """Return the other priced SKUs of the same application and licence model, and sku's price."""
    if _missing(sku) or sku not in catalog.index:
        return None
    current = catalog.loc[sku]
    same = catalog[
        (catalog["application_id"] == current["application_id"])
        & (catalog["license_model"] == current["license_model"])
        & (catalog["sku"] != sku)
        & catalog["price"].notna()
    ]
    return same, current["price"] or Decimal(0)


def user_skus(assignments: pd.DataFrame | None, catalog: pd.DataFrame) -> dict:
    """Map (user_key, application_id) to the SKUs held, or to the only SKU of the application."""
    held: dict = {}
    if assignments is not None and len(assignments):
        for row in assignments.itertuples(index=False):
            held.setdefault((row.user_key, row.application_id), []).append(row.sku)
    only = catalog.groupby("application_id")["sku"].agg(list)
    held["__only__"] = {app: skus[0] for app, skus in only.items() if len(skus) == 1}
    return held


def _held_skus(held: dict, user_key, application_id) -> list:
    skus = held.get((user_key, application_id))
    if skus:
        return skus
    only = held["__only__"].get(application_id)
    return [only] if only is not None else [None]


def downgrade_drafts(tiers, catalog, held, skip: set) -> list[dict]:
    """Draft a move to the next cheaper SKU of the application for each light user."""
    drafts = []
    if _empty(tiers):
        return drafts
    for row in tiers[tiers["tier"] == "light"].itertuples(index=False):
        if (row.user_key, row.application_id) in skip:
            continue
        for sku in _held_skus(held, row.user_key, row.application_id):
            if sku in catalog.index and catalog.at[sku, "license_model"] != "named":
                continue
            ladder = _ladder(catalog, sku)
            if ladder is None:
                continue
            others, price = ladder
            cheaper = others[others["price"] < price].sort_values("price", ascending=False)
            if cheaper.empty:
                continue
            target = cheaper.iloc[0]
            evidence = {
                "tier": "light",
                "current_sku": sku,
                "target_sku": target["sku"],
                "current_monthly_price": price,
                "target_monthly_price": target["price"],
            }
            difference = round_cents(price - target["price"])
            reason = f"Light user of {sku}: {target['sku']} costs {difference} less a month."
            drafts.append(
                _draft(
                    "downgrade",
                    row.user_key,
                    row.application_id,
                    sku,
                    1,
                    price - target["price"],
                    reason,
                    evidence,
                )
            )
    return drafts


def upgrade_drafts(upgrades, catalog, held) -> list[dict]:
    """Draft upgrades for predictions at or above 0.5, costed when a dearer SKU exists."""
    drafts = []
    if _empty(upgrades):
        return drafts
    likely = upgrades[upgrades["probability"] >= PROBABILITY_THRESHOLD]
    for row in likely.itertuples(index=False):
        for sku in _held_skus(held, row.user_key, row.application_id):
            if sku in catalog.index and catalog.at[sku, "license_model"] != "named":
                continue
            ladder = _ladder(catalog, sku)
            evidence = {
                "probability": round(float(row.probability), 4),
                "threshold": PROBABILITY_THRESHOLD,
                "current_tier": row.current_tier,
                "predicted_tier": row.predicted_tier,
                "current_sku": sku,
            }
            cost = Decimal(0)
            reason = (
                f"Usage is likely to grow from {row.current_tier} to {row.predicted_tier} "
                f"(probability {row.probability:.2f})."
            )
            dearer = pd.DataFrame()
            if ladder is not None:
                others, price = ladder
                dearer = others[others["price"] > price].sort_values("price")
            if dearer.empty:
                # Without a dearer SKU there is nothing to order; the prediction stays in
                # upgrade_predictions for analysts.
                continue
            target = dearer.iloc[0]
            cost = target["price"] - price
            evidence["target_sku"] = target["sku"]
            evidence["target_monthly_price"] = target["price"]
            reason += f" Moving to {target['sku']} costs {round_cents(cost)} more a month."
            drafts.append(
                _draft("upgrade", row.user_key, row.application_id, sku, 1, -cost, reason, evidence)
            )
    return drafts


def spare_seats(positions: pd.DataFrame) -> dict:
    """Return owned minus assigned seats per SKU at the latest position date (never negative)."""
    if positions is None or positions.empty:
        return {}
    latest = latest_positions(positions)
    spare = latest["seats_owned"].fillna(0) - latest["seats_assigned"].fillna(0)
    return {sku: max(0, int(s)) for sku, s in zip(latest["sku"], spare, strict=True)}


def latest_positions(positions: pd.DataFrame) -> pd.DataFrame:
    frame = positions.copy()
    frame["position_date"] = to_date_series(frame["position_date"])
    return frame.sort_values("position_date").groupby("sku", as_index=False).tail(1)


def provision_drafts(provisioning, catalog, positions) -> list[dict]:
    """Draft provisioning at or above 0.5 on the cheapest SKU. A spare owned seat costs nothing."""
    drafts = []
    if _empty(provisioning):
        return drafts
    spare = spare_seats(positions)
    likely = provisioning[provisioning["probability"] >= PROBABILITY_THRESHOLD]
    likely = likely.sort_values("probability", ascending=False)
    for row in likely.itertuples(index=False):
        options = catalog[
            (catalog["application_id"] == row.application_id) & catalog["price"].notna()
        ]
        if options.empty:
            continue
        target = options.sort_values("price").iloc[0]
        evidence = {
            "probability": round(float(row.probability), 4),
            "threshold": PROBABILITY_THRESHOLD,
            "spare_seats_before": spare.get(target["sku"], 0),
        }
        if spare.get(target["sku"], 0) > 0:
            spare[target["sku"]] -= 1
            cost = Decimal(0)
            reason = (
                f"Likely to need {target['sku']} within 30 days (probability "
                f"{row.probability:.2f}). A spare seat is owned."
            )
        else:
            cost = target["price"]
            reason = (
                f"Likely to need {target['sku']} within 30 days (probability "
                f"{row.probability:.2f}). One more seat is needed."
            )
        drafts.append(
            _draft(
                "provision",
                row.user_key,
                row.application_id,
                target["sku"],
                1,
                -cost,
                reason,
                evidence,
            )
        )
    return drafts


def _forecast_at(forecasts: pd.DataFrame, sku_row, renewal: date) -> dict | None:
    """Return the forecast row for the SKU's series on the renewal date, or the last before it."""
    if forecasts is None or forecasts.empty:
        return None
    frame = forecasts.copy()
    frame["ds"] = to_date_series(frame["ds"])
    feature = sku_row.get("feature")
    if sku_row.get("license_model") == "concurrent" and not _missing(feature):
        # Feature series are keyed server/daemon/feature; an entitlement names the feature.
        keys = frame["series_key"].astype(str)
        series = frame[
            (frame["series_type"] == "feature")
            & ((keys == feature) | keys.str.endswith(f"/{feature}"))
        ]
    else:
        series = frame[
            (frame["series_type"] == "application")
            & (frame["series_key"] == sku_row["application_id"])
        ]
    series = series[series["ds"] <= renewal].sort_values("ds")
    if series.empty:
        return None
    return series.iloc[-1].to_dict()


def right_size_drafts(
    forecasts,
    catalog,
    concurrency,
    as_of: date,
    buffer: float,
    positions=None,
    bought: dict | None = None,
    reclaimed: dict | None = None,
) -> list[dict]:
    """Draft renewal right-sizing: seats needed = ceil(demand x (1 + buffer)).

    Demand is the upper forecast bound at renewal. For a named SKU it is at least the holders
    active in the last 60 days, because each of them keeps a seat whatever the daily count;
    idle holders are reclaimed separately. Seats needed never go below the minimum commitment. The saving uses the vendor quote
    when present, else the current price. Applications with several SKUs of one licence model
    are skipped because one application forecast cannot be split between them.
    """
    drafts = []
    per_model = catalog.groupby(["application_id", "license_model"])["sku"].transform("count")
    for sku, sku_row in catalog.iterrows():
        renewal = sku_row["renewal_date"]
        if renewal is None or renewal < as_of:
            continue
        if per_model.loc[sku] > 1:
            logger.info("skipped right-sizing %s: its application has several SKUs", sku)
            continue
        point = _forecast_at(forecasts, sku_row, renewal)
        if point is None:
            logger.info("skipped right-sizing %s: no forecast on or before %s", sku, renewal)
            continue
        upper = float(point["yhat_upper"])
        commitment = _int(sku_row.get("min_commitment_seats"))
        active_holders = None
        demand = upper
        if sku_row.get("license_model") == "named":
            active_holders = _active_holders(positions, sku)
            demand = max(upper, float(active_holders or 0))
        needed = max(math.ceil(demand * (1 + buffer) - 1e-9), commitment)
        true_up = int((bought or {}).get(sku, 0))
        owned = _int(sku_row["seats_owned"]) + true_up
        delta = owned - needed
        if delta == 0:
            continue
        # The quote per seat and month; dim_skus converts yearly quotes like yearly prices.
        quote_value = sku_row.get("monthly_quote_price")
        if _missing(quote_value):
            quote_value = sku_row.get("quote_unit_price")
        quote = to_decimal(quote_value, field="monthly_quote_price")
        price = quote if quote is not None else _price(catalog, sku)
        evidence = {
            "renewal_date": renewal,
            "forecast_on": point["ds"],
            "forecast_method": point.get("method"),
            "yhat": round(float(point["yhat"]), 2),
            "yhat_lower": round(float(point["yhat_lower"]), 2),
            "yhat_upper": round(upper, 2),
            "buffer": buffer,
            "active_holders_60d": active_holders,
            "formula": "ceil(max(upper bound, active holders) x (1 + buffer)), at least the "
            "minimum commitment",
            "seats_needed": needed,
            "seats_owned": owned,
            "seats_from_true_up": true_up,
            "min_commitment_seats": commitment,
            "unit_price_used": price,
            "price_source": "quote" if quote is not None else "current",
            "seats_owned_source": _optional(sku_row.get("seats_owned_source")),
            "server_seats_issued": (
                None
                if _missing(sku_row.get("server_seats_issued"))
                else _int(sku_row.get("server_seats_issued"))
            ),
        }
        if point["ds"] < renewal:
            evidence["note"] = "forecast ends before the renewal date"
        peak = _observed_peak(concurrency, sku_row, as_of)
        if peak is not None:
            evidence["observed_peak_concurrent_90d"] = peak
        verb = f"Renew {delta} fewer" if delta > 0 else f"Buy {-delta} more"
        reason = f"{verb} seats of {sku} at renewal on {renewal}: {needed} needed, {owned} owned."
        # Seats freed by reclaim recommendations already carry their saving, so a cut at
        # renewal only saves on the seats beyond them; totals then count each seat once.
        already = min(int((reclaimed or {}).get(sku, 0)), delta) if delta > 0 else 0
        evidence["seats_saved_by_reclaims"] = already
        if already:
            reason += f" {already} of them are the seats the reclaims free, priced there."
        drafts.append(
            _draft(
                "right_size",
                None,
                sku_row["application_id"],
                sku,
                abs(delta),
                (delta - already) * price,
                reason,
                evidence,
            )
        )
    return drafts


def _active_holders(positions, sku) -> int | None:
    """Holders of the SKU active in the 60 days to the latest position date."""
    if positions is None or positions.empty:
        return None
    latest = latest_positions(positions)
    row = latest[latest["sku"] == sku]
    if row.empty:
        return None
    return _int(row.iloc[0]["active_60d"])


def _observed_peak(concurrency, sku_row, as_of: date) -> int | None:
    if concurrency is None or concurrency.empty or _missing(sku_row.get("feature")):
        return None
    frame = concurrency[concurrency["feature"] == sku_row["feature"]]
    start = pd.Timestamp(as_of - timedelta(days=POOL_WINDOW_DAYS))
    frame = frame[pd.to_datetime(frame["hour_start"]) >= start]
    if frame.empty:
        return None
    return int(frame["peak_concurrent_seats"].max())


def true_up_drafts(positions, catalog, freed: dict | None = None) -> list[dict]:
    """Draft a true-up for each purchased SKU used beyond the seats owned.

    Use counts by licence model: assignments for named SKUs and installs for device SKUs.
    Concurrent SKUs allow any number of installs, so their shortfall shows as denials and
    renewal sizing, not as a true-up. Install counts are per application, so they are only
    compared for applications with a single SKU. Seats that reclaim recommendations free
    (freed, per SKU) cover part of a named SKU's gap first. A SKU with no purchase line loaded
    gets no true-up, because without entitlements the seats owned are unknown, not zero.
    """
    if positions is None or positions.empty:
        return []
    drafts = []
    for row in latest_positions(positions).itertuples(index=False):
        owned = _int(row.seats_owned)
        assigned = _int(row.seats_assigned)
        installed = _int(getattr(row, "installed", None))
        model = catalog.at[row.sku, "license_model"] if row.sku in catalog.index else None
        if model == "concurrent" or (owned == 0 and assigned == 0):
            continue
        if not _is_purchased(catalog, row.sku):
            logger.info("no true-up for %s: no purchase line is loaded for it", row.sku)
            continue
        used = installed if model == "device" else assigned
        reclaimed = int((freed or {}).get(row.sku, 0)) if model == "named" else 0
        gap = used - reclaimed - owned
        if gap <= 0:
            continue
        evidence = {
            "position_date": row.position_date,
            "seats_owned": owned,
            "seats_assigned": assigned,
            "installed": installed,
            "seats_freed_by_reclaims": reclaimed,
        }
        reason = (
            f"{row.sku} has {used} seats in use ({assigned} assigned, {installed} installed) "
            f"but {owned} owned: buy {gap}."
        )
        if reclaimed:
            reason = reason[:-1] + f" after the {reclaimed} seats the reclaims free."
        drafts.append(
            _draft(
                "true_up",
                None,
                row.application_id,
                row.sku,
                gap,
                -gap * _price(catalog, row.sku),
                reason,
                evidence,
            )
        )
    return drafts


def _is_purchased(catalog, sku) -> bool:
    """Return False only when dim_skus marks the SKU as having no purchase line loaded."""
    if sku not in catalog.index or "is_purchased" not in catalog.columns:
        return True
    flag = catalog.at[sku, "is_purchased"]
    return _missing(flag) or bool(flag)


def _optional(value):
    """Return value, or None when it is missing, so evidence JSON contains null, not NaN."""
    return None if _missing(value) else value


def pool_drafts(daily_usage, positions, catalog, as_of: date, buffer: float) -> list[dict]:
    """Draft pooling or concurrent conversion for named SKUs with a low daily peak.

    The concurrency-equivalent estimate is ceil(peak daily active users over 90 days x
    (1 + buffer)). Daily active users bound simultaneous users from above, so the estimate
    overstates the concurrent seats needed. When the application has a concurrent SKU, the action
    is convert_to_concurrent and saves assigned x named price - estimate x concurrent price.
    Otherwise it is pool, which saves nothing until seats are shared.
    """
    if daily_usage is None or daily_usage.empty or positions is None or positions.empty:
        return []
    usage = daily_usage.copy()
    usage["usage_date"] = to_date_series(usage["usage_date"])
    usage = usage[
        (usage["usage_date"] > as_of - timedelta(days=POOL_WINDOW_DAYS))
        & (usage["usage_date"] <= as_of)
    ]
    if "is_active" in usage.columns:
        usage = usage[usage["is_active"].eq(True)]
    if "is_backfilled" in usage.columns:
        usage = usage[~usage["is_backfilled"].eq(True)]
    peak = (
        usage.groupby(["application_id", "usage_date"])["user_key"]
        .nunique()
        .groupby("application_id")
        .max()
    )

    drafts = []
    for row in latest_positions(positions).itertuples(index=False):
        if row.sku not in catalog.index or catalog.at[row.sku, "license_model"] != "named":
            continue
        assigned = _int(row.seats_assigned)
        daily_peak = int(peak.get(row.application_id, 0))
        if assigned < MIN_POOL_SEATS or daily_peak > POOL_PEAK_SHARE * assigned:
            continue
        estimate = max(1, math.ceil(daily_peak * (1 + buffer) - 1e-9))
        evidence = {
            "seats_assigned": assigned,
            "peak_daily_active_users_90d": daily_peak,
            "peak_share_threshold": POOL_PEAK_SHARE,
            "buffer": buffer,
            "concurrent_seats_estimate": estimate,
            "formula": "ceil(peak daily active users over 90 days x (1 + buffer))",
        }
        concurrent = catalog[
            (catalog["application_id"] == row.application_id)
            & (catalog["license_model"] == "concurrent")
            & catalog["price"].notna()
        ]
        named_price = _price(catalog, row.sku)
        if concurrent.empty:
            # Without a concurrent or shared SKU of the application there is nothing to buy
            # instead, and a pool proposal would carry no price; idle seats are reclaimed.
            continue
        else:
            target = concurrent.sort_values("price").iloc[0]
            action = "convert_to_concurrent"
            saving = assigned * named_price - estimate * target["price"]
            evidence["target_sku"] = target["sku"]
            evidence["target_monthly_price"] = target["price"]
            reason = (
                f"At most {daily_peak} of {assigned} assigned {row.sku} seats are used on any "
                f"day: {estimate} {target['sku']} seats would do."
            )
        drafts.append(
            _draft(action, None, row.application_id, row.sku, assigned, saving, reason, evidence)
        )
    return drafts
