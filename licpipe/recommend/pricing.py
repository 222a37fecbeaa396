"""Money arithmetic in Decimal: unit prices per month, seat savings rounded to cents."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pandas as pd

CENT = Decimal("0.01")
# Money columns are published with a fixed type, so their type does not change between runs.
# DECIMAL(18,2) stores amounts below 10^16 to the cent.
MONEY_TYPE = "DECIMAL(18,2)"
MONTHS_PER_YEAR = 12

PERIOD_MONTHS = {"month": 1, "monthly": 1, "year": 12, "annual": 12, "yearly": 12}


def to_decimal(value, *, field: str = "price") -> Decimal | None:
    """Convert a price to Decimal without float rounding, returning None for NULL.

    Floats go through their shortest repr, so 12.3 becomes Decimal("12.3"), not the binary
    expansion.
    """
    if value is None or (not isinstance(value, str | Decimal) and pd.isna(value)):
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as error:
        raise ValueError(f"{field} {value!r} is not a number: fix the entitlement row") from error


def monthly_price(unit_price, price_period: str | None) -> Decimal | None:
    """Return the unrounded monthly price of one seat from a unit price and its period.

    Raises:
        ValueError: When price_period is not month or year (or their synonyms).
    """
    price = to_decimal(unit_price, field="unit_price")
    if price is None:
        return None
    period = (price_period or "month").strip().lower()
    if period not in PERIOD_MONTHS:
        raise ValueError(f"price_period {price_period!r} is invalid: use month or year")
    return price / PERIOD_MONTHS[period]


def round_cents(amount: Decimal) -> Decimal:
    """Round to cents, halves away from zero, as invoices do."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def seat_saving(seats, monthly_unit_price) -> tuple[Decimal, Decimal]:
    """Return (monthly, annual) saving for seats at a monthly unit price, in cents.

    The monthly figure is rounded once and annual is exactly 12 times it, so annual totals
    always equal 12 times monthly totals. A NULL price gives zero.
    """
    price = to_decimal(monthly_unit_price, field="monthly_unit_price")
    if price is None:
        return Decimal("0.00"), Decimal("0.00")
    monthly = round_cents(Decimal(int(seats)) * price)
    return monthly, monthly * MONTHS_PER_YEAR


def annual_from_monthly(monthly: Decimal) -> Decimal:
    """Return 12 times a monthly amount already rounded to cents."""
    return round_cents(monthly) * MONTHS_PER_YEAR
