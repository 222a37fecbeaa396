from decimal import Decimal

import pytest

from licpipe.recommend.pricing import (
    annual_from_monthly,
    monthly_price,
    round_cents,
    seat_saving,
    to_decimal,
)


def test_yearly_price_to_monthly():
    assert monthly_price("419.88", "year") == Decimal("34.99")
    assert monthly_price(Decimal("36.00"), "month") == Decimal("36.00")


def test_invalid_period_raises():
    with pytest.raises(ValueError, match="price_period 'week' is invalid"):
        monthly_price("10", "week")


def test_float_price_keeps_decimal_digits():
    assert to_decimal(12.3) == Decimal("12.3")
    assert to_decimal(None) is None
    assert to_decimal(float("nan")) is None


def test_invalid_number_raises():
    with pytest.raises(ValueError, match="'ten' is not a number"):
        to_decimal("ten", field="unit_price")


def test_annual_is_twelve_monthly_exactly():
    price = monthly_price("100.00", "year")

    monthly, annual = seat_saving(7, price)

    assert monthly == Decimal("58.33")
    assert annual == Decimal("699.96")
    assert annual == monthly * 12
    assert annual_from_monthly(Decimal("8.335")) == Decimal("100.08")


def test_round_cents_half_up():
    assert round_cents(Decimal("0.125")) == Decimal("0.13")
    assert round_cents(Decimal("-0.125")) == Decimal("-0.13")
