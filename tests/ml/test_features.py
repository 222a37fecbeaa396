from datetime import date, timedelta

import pandas as pd

from licpipe.ml.features import build_user_features
from tests.ml.frames import ASSIGNMENT_COLUMNS, assignment, frame, person, usage_rows

AS_OF = date(2026, 12, 15)


def days_back(*offsets: int) -> list[date]:
    return [AS_OF - timedelta(days=o) for o in offsets]


def build(usage, assignments, users) -> pd.DataFrame:
    features = build_user_features(
        frame(usage), frame(assignments, ASSIGNMENT_COLUMNS), frame(users), AS_OF
    )
    return features.set_index(["user_key", "application_id"])


def test_window_counts_and_sums():
    usage = usage_rows("a@x.com", "crm", days_back(0, 3, 10, 40, 100), minutes=15.0)
    features = build(usage, [], [person("a@x.com")])
    row = features.loc[("a@x.com", "crm")]

    assert row["active_days_7"] == 2
    assert row["active_days_30"] == 3
    assert row["active_days_90"] == 4
    assert row["minutes_90"] == 60.0
    assert row["last_used_on"] == AS_OF
    assert row["first_used_on"] == AS_OF - timedelta(days=100)
    assert row["days_since_last_use"] == 0


def test_sentinel_date_never_counts():
    usage = usage_rows("a@x.com", "crm", [date(1970, 1, 1)] + days_back(50))
    usage += usage_rows("b@x.com", "crm", [date(1970, 1, 1)])
    assignments = [assignment("b@x.com", "crm", "CRM", date(2026, 1, 1))]
    features = build(usage, assignments, [person("a@x.com"), person("b@x.com")])

    assert features.loc[("a@x.com", "crm"), "days_since_last_use"] == 50
    assert features.loc[("a@x.com", "crm"), "first_used_on"] == AS_OF - timedelta(days=50)
    assert pd.isna(features.loc[("b@x.com", "crm"), "days_since_last_use"])
    assert features.loc[("b@x.com", "crm"), "last_used_on"] is None
    assert features["days_since_last_use"].max() <= features["history_days"].max()


def test_future_usage_ignored():
    usage = usage_rows("a@x.com", "crm", days_back(20) + [AS_OF + timedelta(days=3)])
    features = build(usage, [], [person("a@x.com")])

    assert features.loc[("a@x.com", "crm"), "days_since_last_use"] == 20


def test_assigned_unused_pair_included():
    assignments = [assignment("a@x.com", "cad", "CAD_PRO", "2026-03-01")]
    usage = usage_rows("b@x.com", "crm", days_back(1))
    features = build(usage, assignments, [person("a@x.com"), person("b@x.com")])
    row = features.loc[("a@x.com", "cad")]

    assert bool(row["is_assigned"])
    assert row["assigned_on"] == date(2026, 3, 1)
    assert row["active_days_90"] == 0
    assert pd.isna(row["days_since_last_use"])
    assert not bool(features.loc[("b@x.com", "crm"), "is_assigned"])


def test_trend_positive_for_growth():
    growing = [o for o in range(84) if o < 14 or o % 7 == 0]
    usage = usage_rows("g@x.com", "crm", days_back(*growing))
    usage += usage_rows("s@x.com", "crm", days_back(*range(0, 84, 2)))
    features = build(usage, [], [person("g@x.com"), person("s@x.com")])

    assert features.loc[("g@x.com", "crm"), "trend"] > 0.2
    assert abs(features.loc[("s@x.com", "crm"), "trend"]) < 0.1


def test_peer_share_excludes_self():
    users = [person(f"u{i}@x.com", department="Design") for i in range(5)]
    users.append(person("solo@x.com", department="Legal"))
    usage = []
    for i in range(3):
        usage += usage_rows(f"u{i}@x.com", "adobe", days_back(5))
    assignments = [
        assignment("u4@x.com", "adobe", "CC", "2026-01-01"),
        assignment("solo@x.com", "adobe", "CC", "2026-01-01"),
    ]
    features = build(usage, assignments, users)

    assert features.loc[("u0@x.com", "adobe"), "peer_share_department"] == 0.5
    assert features.loc[("u4@x.com", "adobe"), "peer_share_department"] == 0.75
    assert pd.isna(features.loc[("solo@x.com", "adobe"), "peer_share_department"])


def test_tenure_and_periodicity_columns():
    quarter_days = [date(2026, 9, 24), date(2026, 9, 29), date(2026, 6, 25), date(2026, 6, 30)]
    usage = usage_rows("q@x.com", "sf", quarter_days)
    users = [person("q@x.com", hire_date=date(2026, 12, 1))]
    features = build(usage, [], users)
    row = features.loc[("q@x.com", "sf")]

    assert row["tenure_days"] == 14
    assert bool(row["is_periodic"])
    assert row["period_days"] == 91
    assert row["next_expected_on"] == date(2026, 12, 22)


def test_backfilled_days_count_for_last_use_only():
    usage = usage_rows("a@x.com", "m365", days_back(0, 5))
    usage += usage_rows("b@x.com", "m365", days_back(20))
    for row in usage:
        row["is_backfilled"] = False
    backfilled = usage_rows("b@x.com", "m365", days_back(100)) + usage_rows(
        "c@x.com", "m365", days_back(3)
    )
    for row in backfilled:
        row["is_backfilled"] = True
    people = [person("a@x.com"), person("b@x.com"), person("c@x.com")]

    features = build(usage + backfilled, [], people)

    assert features.loc[("b@x.com", "m365"), "active_days_90"] == 1
    assert features.loc[("b@x.com", "m365"), "last_used_on"] == AS_OF - timedelta(days=20)
    assert features.loc[("b@x.com", "m365"), "history_days"] == 101
    assert features.loc[("c@x.com", "m365"), "active_days_7"] == 0
    assert features.loc[("c@x.com", "m365"), "last_used_on"] == AS_OF - timedelta(days=3)
    assert features.loc[("c@x.com", "m365"), "days_since_last_use"] == 3
