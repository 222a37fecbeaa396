from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import cluster

from licpipe.ml import tiering
from licpipe.ml.tiering import assign_tiers

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ml"


def small_groups() -> pd.DataFrame:
    raw = pd.read_csv(FIXTURES / "tiers_small_groups.csv")
    return pd.DataFrame(
        {
            "user_key": raw["user"],
            "application_id": raw["app"],
            "active_days_90": raw["days_active_30d"],
            "active_days_30": raw["days_active_30d"],
            "minutes_90": raw["hours_30d"] * 60,
            "events_90": raw["features_used"],
            "sessions_90": np.nan,
        }
    )


def test_identical_zero_rows_skip_kmeans(monkeypatch):
    calls = []
    original = cluster.KMeans

    def counting_kmeans(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(tiering, "KMeans", counting_kmeans)
    features = small_groups()

    tiers, metrics = assign_tiers(features[features["application_id"] == "cad"], max_k=3)

    assert calls == []
    assert set(tiers["tier"]) == {"non-user"}
    assert metrics["cad"]["effective_k"] == 0
    assert metrics["cad"]["n"] == 4


def test_two_users_get_two_tiers():
    tiers, metrics = assign_tiers(small_groups(), max_k=3)
    viewer = tiers[tiers["application_id"] == "viewer"].set_index("user_key")

    assert metrics["viewer"]["effective_k"] == 2
    assert viewer.loc["user5@example.com", "tier"] == "power"
    assert viewer.loc["user6@example.com", "tier"] == "light"
    assert viewer.loc["user5@example.com", "cluster"] > viewer.loc["user6@example.com", "cluster"]
    assert metrics["viewer"]["silhouette"] is None


def test_one_distinct_active_row_is_light():
    features = pd.DataFrame(
        {
            "user_key": ["a", "b", "c"],
            "application_id": "crm",
            "active_days_90": [5, 5, 0],
            "active_days_30": [2, 2, 0],
        }
    )

    tiers, metrics = assign_tiers(features)

    assert list(tiers["tier"]) == ["light", "light", "non-user"]
    assert metrics["crm"]["effective_k"] == 1


def population(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for index, (low, high) in enumerate([(1, 8)] * 20 + [(30, 45)] * 20 + [(75, 90)] * 20):
        days = int(rng.integers(low, high))
        rows.append(
            {
                "user_key": f"user{index:03d}",
                "application_id": "crm",
                "active_days_90": days,
                "active_days_30": days // 3,
                "minutes_90": days * 20.0,
                "events_90": days * 4,
                "sessions_90": days,
            }
        )
    rows.append(
        {"user_key": "idle", "application_id": "crm", "active_days_90": 0, "active_days_30": 0}
    )
    return pd.DataFrame(rows)


def test_three_tiers_ordered_by_activity():
    features = population(1)

    tiers, metrics = assign_tiers(features)
    merged = tiers.merge(features, on=["user_key", "application_id"])
    mean_days = merged.groupby("tier")["active_days_90"].mean()

    assert metrics["crm"]["effective_k"] == 3
    assert mean_days["power"] > mean_days["regular"] > mean_days["light"]
    assert merged.loc[merged["user_key"] == "idle", "tier"].item() == "non-user"
    assert metrics["crm"]["silhouette"] > 0.5


def test_labels_stable_between_runs_and_row_order():
    features = population(2)

    first, _ = assign_tiers(features, random_state=0)
    shuffled, _ = assign_tiers(features.sample(frac=1.0, random_state=9), random_state=0)

    pd.testing.assert_frame_equal(first, shuffled)


def test_missing_window_column_raises():
    with pytest.raises(ValueError, match="active_days_60"):
        assign_tiers(population(1), window_days=60)


def test_recent_last_use_is_not_non_user():
    features = pd.DataFrame(
        {
            "user_key": ["a@x.com", "b@x.com", "c@x.com"],
            "application_id": ["m365"] * 3,
            "active_days_7": [0, 0, 0],
            "active_days_30": [0, 0, 0],
            "active_days_90": [0, 0, 0],
            "days_since_last_use": pd.array([1, 120, None], dtype="Int64"),
        }
    )

    tiers, _ = assign_tiers(features)
    by_user = tiers.set_index("user_key")["tier"]

    assert by_user["a@x.com"] == "light"
    assert by_user["b@x.com"] == "non-user"
    assert by_user["c@x.com"] == "non-user"
