"""Seeded synthetic usage populations with planted growers and department-driven adoption."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

AS_OF = date(2026, 12, 15)
DAYS = 180


def _usage_row(user_key: str, application_id: str, day: date, rng) -> dict:
    return {
        "user_key": user_key,
        "application_id": application_id,
        "application": application_id.upper(),
        "usage_date": day,
        "is_active": True,
        "sessions": int(rng.integers(1, 4)),
        "minutes": float(rng.uniform(5, 90)),
        "events": int(rng.integers(1, 40)),
        "features_used": int(rng.integers(1, 6)),
        "sources": "synthetic",
    }


def growth_population(n_users: int = 240, seed: int = 3) -> dict[str, pd.DataFrame]:
    """Build usage where some users ramp from light to heavy use over about 40 days.

    Steady users keep a daily activity probability of 0.12, 0.45 or 0.85. Growers start at
    0.12 and ramp to 0.85 from a random day, so at any cutoff some are part way up the ramp.
    """
    rng = np.random.default_rng(seed)
    start = AS_OF - timedelta(days=DAYS - 1)
    days = [start + timedelta(days=i) for i in range(DAYS)]
    rows, users, assignments = [], [], []
    for i in range(n_users):
        user_key = f"user{i:04d}@example.com"
        kind = rng.choice(["light", "regular", "power", "grower"], p=[0.3, 0.2, 0.2, 0.3])
        ramp_start = int(rng.integers(0, DAYS))
        for index, day in enumerate(days):
            if kind == "grower":
                progress = min(1.0, max(0.0, (index - ramp_start) / 40))
                p = 0.12 + progress * 0.73
            else:
                p = {"light": 0.12, "regular": 0.45, "power": 0.85}[kind]
            if rng.random() < p:
                rows.append(_usage_row(user_key, "crm", day, rng))
        users.append(
            {
                "user_key": user_key,
                "email": user_key,
                "department": "Sales",
                "role": "Rep",
                "hire_date": date(2024, 1, 1),
                "termination_date": None,
                "hr_status": "active",
                "is_service_account": False,
                "is_external": False,
                "is_in_hr": True,
            }
        )
        assignments.append(
            {
                "user_key": user_key,
                "application_id": "crm",
                "application": "CRM",
                "sku": "CRM_STD",
                "assigned_on": date(2025, 1, 1),
                "source": "synthetic",
            }
        )
    return {
        "daily_usage": pd.DataFrame(rows),
        "users": pd.DataFrame(users),
        "assignments": pd.DataFrame(assignments),
    }


def adoption_population(n_users: int = 300, seed: int = 5) -> dict[str, pd.DataFrame]:
    """Build usage where new hires in Design adopt the design app within a month of hire.

    Long-tenured Design staff who never used the app keep not using it, so the department peer
    share alone cannot tell who will adopt next, but tenure can.
    """
    rng = np.random.default_rng(seed)
    start = AS_OF - timedelta(days=DAYS - 1)
    rows, users = [], []
    departments = ["Design", "Sales", "Engineering"]
    for i in range(n_users):
        user_key = f"person{i:04d}@example.com"
        department = departments[i % 3]
        role = {"Design": "Designer", "Sales": "Rep", "Engineering": "Engineer"}[department]
        if rng.random() < 0.45:
            hire_date = start + timedelta(days=int(rng.integers(0, DAYS)))
        else:
            hire_date = date(2022, 1, 1) + timedelta(days=int(rng.integers(0, 600)))
        users.append(
            {
                "user_key": user_key,
                "email": user_key,
                "department": department,
                "role": role,
                "hire_date": hire_date,
                "termination_date": None,
                "hr_status": "active",
                "is_service_account": False,
                "is_external": False,
                "is_in_hr": True,
            }
        )
        for day_index in range(DAYS):
            day = start + timedelta(days=day_index)
            if day >= hire_date and rng.random() < 0.6:
                rows.append(_usage_row(user_key, "mail", day, rng))

        # Design staff hired long ago split into steady users and lasting non-users.
        adopt_on = None
        if department == "Design":
            if hire_date >= start:
                adopt_on = hire_date + timedelta(days=int(rng.integers(3, 25)))
            elif rng.random() < 0.6:
                adopt_on = start
        elif rng.random() < 0.01:
            adopt_on = start + timedelta(days=int(rng.integers(0, DAYS)))
        if adopt_on is not None:
            for day_index in range(DAYS):
                day = start + timedelta(days=day_index)
                if day >= adopt_on and rng.random() < 0.5:
                    rows.append(_usage_row(user_key, "design", day, rng))
    return {"daily_usage": pd.DataFrame(rows), "users": pd.DataFrame(users)}
