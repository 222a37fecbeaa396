"""Savings summary: open recommendations totalled per application, SKU, action and currency."""

from __future__ import annotations

import logging
from decimal import Decimal

import pandas as pd

from licpipe.recommend.pricing import round_cents, to_decimal

logger = logging.getLogger(__name__)

SUMMARY_COLUMNS = [
    "row_type",
    "application_id",
    "application",
    "sku",
    "action",
    "currency",
    "count",
    "seats",
    "monthly_saving",
    "annual_saving",
]

GROUP_KEYS = ["application_id", "application", "sku", "action", "currency"]


def _decimal_sum(values) -> Decimal:
    """Sum amounts in cents. Amounts read back from DuckDB arrive as floats, so each goes
    through its shortest repr and is rounded to cents before adding, never its binary expansion.
    """
    return sum((round_cents(to_decimal(v, field="saving")) for v in values), Decimal("0.00"))


def summarise_savings(recommendations: pd.DataFrame) -> pd.DataFrame:
    """Total open recommendations per application, SKU, action and currency, then per currency.

    Savings stay Decimal, so each currency's total row equals the sum of its detail rows
    exactly. Negative amounts are costs and are netted in. Suppressed rows are left out.
    row_type is detail or total; total rows have NULL application, SKU and action.
    """
    open_rows = recommendations[recommendations["status"] == "open"].copy()
    if open_rows.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    for key in GROUP_KEYS:
        open_rows[key] = open_rows[key].astype(object).where(open_rows[key].notna(), "")

    details = []
    for values, group in open_rows.groupby(GROUP_KEYS, sort=True):
        row = dict(zip(GROUP_KEYS, values, strict=True))
        row.update(
            row_type="detail",
            count=len(group),
            seats=int(group["seats"].sum()),
            monthly_saving=_decimal_sum(group["monthly_saving"]),
            annual_saving=_decimal_sum(group["annual_saving"]),
        )
        details.append({k: (None if v == "" else v) for k, v in row.items()})

    frame = pd.DataFrame(details)
    totals = []
    for currency, group in frame.groupby(frame["currency"].fillna(""), sort=True):
        totals.append(
            {
                "row_type": "total",
                "application_id": None,
                "application": None,
                "sku": None,
                "action": None,
                "currency": currency or None,
                "count": int(group["count"].sum()),
                "seats": int(group["seats"].sum()),
                "monthly_saving": _decimal_sum(group["monthly_saving"]),
                "annual_saving": _decimal_sum(group["annual_saving"]),
            }
        )
    summary = pd.concat([frame, pd.DataFrame(totals)], ignore_index=True)
    logger.info("summarised %d open recommendations into %d rows", len(open_rows), len(summary))
    return summary[SUMMARY_COLUMNS]
