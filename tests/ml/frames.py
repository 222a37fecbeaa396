"""Small hand-made mart frames for the ml and recommend tests."""

from __future__ import annotations

from datetime import date

import pandas as pd

ASSIGNMENT_COLUMNS = ["user_key", "application_id", "application", "sku", "assigned_on", "source"]


def usage_rows(user_key: str, application_id: str, days: list[date], **measures) -> list[dict]:
    return [
        {
            "user_key": user_key,
            "application_id": application_id,
            "application": application_id.upper(),
            "usage_date": day,
            "is_active": True,
            "sessions": measures.get("sessions", 1),
            "minutes": measures.get("minutes", 10.0),
            "events": measures.get("events", 3),
            "features_used": measures.get("features_used", 1),
            "sources": "test",
        }
        for day in days
    ]


def assignment(user_key: str, application_id: str, sku: str, assigned_on) -> dict:
    return {
        "user_key": user_key,
        "application_id": application_id,
        "application": application_id.upper(),
        "sku": sku,
        "assigned_on": assigned_on,
        "source": "test",
    }


def person(user_key: str, **fields) -> dict:
    row = {
        "user_key": user_key,
        "email": user_key,
        "department": "Finance",
        "role": "Analyst",
        "hire_date": date(2024, 1, 1),
        "termination_date": None,
        "hr_status": "active",
        "is_service_account": False,
        "is_external": False,
        "is_in_hr": True,
        "idp_status": "ACTIVE",
        "is_exempt_from_reclaim": False,
    }
    row.update(fields)
    return row


def frame(rows: list[dict], columns: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)
