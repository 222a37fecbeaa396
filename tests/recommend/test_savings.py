from decimal import Decimal

import pandas as pd

from licpipe.recommend.savings import summarise_savings


def recommendation(action, sku, app, monthly, currency="USD", status="open", seats=1):
    monthly = Decimal(monthly)
    return {
        "action": action,
        "sku": sku,
        "application_id": app,
        "application": app.upper(),
        "seats": seats,
        "monthly_saving": monthly,
        "annual_saving": monthly * 12,
        "currency": currency,
        "status": status,
    }


def sample() -> pd.DataFrame:
    return pd.DataFrame(
        [
            recommendation("reclaim", "SLACK", "slack", "12.50"),
            recommendation("reclaim", "SLACK", "slack", "12.50"),
            recommendation("reclaim", "SLACK", "slack", "12.50", status="suppressed"),
            recommendation("reclaim", "SF", "sf", "0.10"),
            recommendation("reclaim", "SF", "sf", "0.20"),
            recommendation("true_up", "E3", "m365", "-180.00", currency="EUR", seats=5),
            recommendation("reclaim", "E3", "m365", "36.00", currency="EUR"),
        ]
    )


def test_detail_rows_sum_open_only():
    summary = summarise_savings(sample())
    slack = summary[(summary["row_type"] == "detail") & (summary["sku"] == "SLACK")].iloc[0]

    assert slack["count"] == 2
    assert slack["monthly_saving"] == Decimal("25.00")
    assert slack["annual_saving"] == Decimal("300.00")


def test_totals_equal_row_sums_exactly():
    summary = summarise_savings(sample())
    details = summary[summary["row_type"] == "detail"]
    totals = summary[summary["row_type"] == "total"].set_index("currency")

    for currency, group in details.groupby("currency"):
        assert totals.loc[currency, "monthly_saving"] == sum(group["monthly_saving"], Decimal(0))
        assert totals.loc[currency, "annual_saving"] == sum(group["annual_saving"], Decimal(0))
    assert totals.loc["USD", "monthly_saving"] == Decimal("25.30")
    assert totals.loc["EUR", "monthly_saving"] == Decimal("-144.00")
    assert totals.loc["EUR", "seats"] == 6


def test_no_open_rows_gives_empty_summary():
    frame = sample()
    frame["status"] = "suppressed"

    assert summarise_savings(frame).empty


def test_float_savings_sum_to_cents():
    # Savings read back from DuckDB arrive as floats: 449.95 is 449.9499999... in binary.
    frame = pd.DataFrame(
        [
            recommendation("reclaim", "CC", "adobe_cc", "0") | {"monthly_saving": 449.95},
            recommendation("reclaim", "CC", "adobe_cc", "0") | {"monthly_saving": 0.1},
        ]
    )
    frame["annual_saving"] = frame["monthly_saving"] * 12

    summary = summarise_savings(frame)
    detail = summary[summary["row_type"] == "detail"].iloc[0]

    assert detail["monthly_saving"] == Decimal("450.05")
    assert detail["annual_saving"] == Decimal("5400.60")
    assert detail["monthly_saving"].as_tuple().exponent == -2
