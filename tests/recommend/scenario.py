"""A small organisation with one case for every recommendation action."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd

from tests.ml.frames import assignment, frame, person, usage_rows

AS_OF = date(2026, 12, 15)


def skus() -> pd.DataFrame:
    columns = [
        "sku",
        "application_id",
        "application",
        "license_model",
        "feature",
        "seats_owned",
        "monthly_unit_price",
        "currency",
        "renewal_date",
        "quote_unit_price",
        "min_commitment_seats",
    ]
    rows = [
        [
            "SF_ENT",
            "sf",
            "Salesforce",
            "named",
            None,
            20,
            Decimal("150.00"),
            "USD",
            date(2027, 6, 1),
            None,
            None,
        ],
        [
            "SF_PRO",
            "sf",
            "Salesforce",
            "named",
            None,
            10,
            Decimal("80.00"),
            "USD",
            date(2027, 6, 1),
            None,
            None,
        ],
        [
            "SLACK",
            "slack",
            "Slack",
            "named",
            None,
            100,
            Decimal("12.50"),
            "USD",
            date(2027, 1, 31),
            None,
            0,
        ],
        [
            "E3",
            "m365",
            "Microsoft 365",
            "named",
            None,
            100,
            Decimal("36.00"),
            "EUR",
            None,
            None,
            None,
        ],
        [
            "CAD_PRO",
            "cad",
            "AcmeCAD",
            "concurrent",
            "CAD_PRO",
            10,
            Decimal("300.00"),
            "EUR",
            date(2027, 2, 1),
            Decimal("280.00"),
            8,
        ],
    ]
    return pd.DataFrame(rows, columns=columns)


def positions() -> pd.DataFrame:
    rows = [
        ("SF_ENT", "sf", 20, 18, None),
        ("SF_PRO", "sf", 10, 6, None),
        ("SLACK", "slack", 100, 90, None),
        ("E3", "m365", 100, 105, None),
        ("CAD_PRO", "cad", 10, 4, 14),
    ]
    return pd.DataFrame(
        [
            {
                "sku": sku,
                "application_id": app,
                "position_date": AS_OF,
                "seats_owned": owned,
                "seats_assigned": assigned,
                "active_30d": None,
                "active_60d": None,
                "active_90d": None,
                "installed": installed,
                "seats_gap": owned - assigned,
            }
            for sku, app, owned, assigned, installed in rows
        ]
    )


def reclaim() -> pd.DataFrame:
    rows = [
        (
            "gone@x.com",
            "sf",
            "SF_ENT",
            "reclaim",
            "Terminated in HR on 2026-12-01 and still holds the licence.",
            3,
            date(2026, 12, 12),
            None,
        ),
        (
            "idle@x.com",
            "slack",
            "SLACK",
            "reclaim",
            "No use for 105 days (threshold 60); last used on 2026-09-01.",
            105,
            date(2026, 9, 1),
            None,
        ),
        (
            "fin@x.com",
            "sf",
            "SF_ENT",
            "intermittent",
            "Idle 76 days, but use repeats every 91 days.",
            76,
            date(2026, 9, 30),
            date(2026, 12, 22),
        ),
    ]
    columns = [
        "user_key",
        "application_id",
        "sku",
        "status",
        "reason",
        "days_since_last_use",
        "last_used_on",
        "next_expected_on",
    ]
    return pd.DataFrame(rows, columns=columns)


def tiers() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "user_key": "light@x.com",
                "application_id": "sf",
                "tier": "light",
                "cluster": 0,
                "effective_k": 3,
            },
            {
                "user_key": "grow@x.com",
                "application_id": "sf",
                "tier": "light",
                "cluster": 0,
                "effective_k": 3,
            },
            {
                "user_key": "idle@x.com",
                "application_id": "slack",
                "tier": "non-user",
                "cluster": -1,
                "effective_k": 2,
            },
        ]
    )


def upgrades() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "user_key": "grow@x.com",
                "application_id": "sf",
                "probability": 0.8,
                "current_tier": "light",
                "predicted_tier": "regular",
            },
            {
                "user_key": "light@x.com",
                "application_id": "sf",
                "probability": 0.1,
                "current_tier": "light",
                "predicted_tier": "light",
            },
        ]
    )


def provisioning() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"user_key": "new@x.com", "application_id": "slack", "probability": 0.9},
            {"user_key": "new@x.com", "application_id": "m365", "probability": 0.7},
            {"user_key": "maybe@x.com", "application_id": "m365", "probability": 0.3},
        ]
    )


def forecasts() -> pd.DataFrame:
    rows = []
    for offset in range(0, 60):
        ds = AS_OF + timedelta(days=offset)
        rows.append(("application", "slack", "Slack", ds, 70.0, 60.0, 80.0, "prophet"))
        rows.append(("feature", "CAD_PRO", "AcmeCAD", ds, 5.0, 4.0, 6.2, "prophet"))
    columns = [
        "series_type",
        "series_key",
        "application",
        "ds",
        "yhat",
        "yhat_lower",
        "yhat_upper",
        "method",
    ]
    return pd.DataFrame(rows, columns=columns)


def concurrency() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "feature_key": "licsrv01/acmed/CAD_PRO",
                "server": "licsrv01",
                "daemon": "acmed",
                "feature": "CAD_PRO",
                "application_id": "cad",
                "hour_start": datetime(2026, 12, 1, 10),
                "peak_concurrent_seats": 6,
                "checkouts": 9,
                "denials": 0,
                "distinct_users": 6,
            }
        ]
    )


def users() -> pd.DataFrame:
    keys = [
        "gone@x.com",
        "idle@x.com",
        "fin@x.com",
        "light@x.com",
        "grow@x.com",
        "new@x.com",
        "maybe@x.com",
    ]
    return frame([person(k) for k in keys])


def assignments() -> pd.DataFrame:
    return frame(
        [
            assignment("gone@x.com", "sf", "SF_ENT", date(2025, 1, 1)),
            assignment("idle@x.com", "slack", "SLACK", date(2025, 1, 1)),
            assignment("light@x.com", "sf", "SF_ENT", date(2025, 1, 1)),
            assignment("grow@x.com", "sf", "SF_PRO", date(2025, 1, 1)),
        ]
    )


def daily_usage() -> pd.DataFrame:
    rows = []
    for index in range(5):
        rows += usage_rows(
            f"u{index}@x.com", "slack", [AS_OF - timedelta(days=d) for d in range(0, 80, 2)]
        )
    return frame(rows)


def no_decisions() -> pd.DataFrame:
    columns = [
        "recommendation_id",
        "user_email",
        "application",
        "sku",
        "action",
        "decision",
        "decided_at",
        "decided_by",
        "note",
    ]
    return pd.DataFrame(columns=columns)
