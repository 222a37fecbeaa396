from datetime import date

import pandas as pd
import pytest

from licpipe.ml.classifiers import train_provisioning_model, train_upgrade_model
from tests.ml.frames import ASSIGNMENT_COLUMNS
from tests.ml.synthetic import AS_OF, adoption_population, growth_population


@pytest.fixture(scope="module")
def upgrade_result():
    population = growth_population()
    return train_upgrade_model(
        population["daily_usage"], population["assignments"], population["users"], AS_OF
    )


@pytest.fixture(scope="module")
def provisioning_result():
    population = adoption_population()
    empty = pd.DataFrame(columns=ASSIGNMENT_COLUMNS)
    return train_provisioning_model(population["daily_usage"], empty, population["users"], AS_OF)


def test_upgrade_beats_baseline(upgrade_result):
    metrics = upgrade_result.metrics
    baseline = upgrade_result.baseline_metrics

    assert metrics["roc_auc"] > 0.8
    assert metrics["roc_auc"] > baseline["roc_auc"] + 0.2
    assert metrics["average_precision"] > baseline["average_precision"]
    assert metrics["precision_at_top_decile"] > baseline["precision_at_top_decile"]


def test_upgrade_split_is_time_ordered(upgrade_result):
    metrics = upgrade_result.metrics

    assert metrics["train_end"] < metrics["test_start"]
    assert metrics["test_start"] == "2026-10-24"
    assert metrics["test_end"] == AS_OF.isoformat()
    assert metrics["n_train"] > metrics["n_test"] > 0
    assert upgrade_result.parameters["gap_days"] == 7


def test_upgrade_predictions_shape(upgrade_result):
    predictions = upgrade_result.predictions

    assert list(predictions.columns) == [
        "user_key",
        "application_id",
        "probability",
        "current_tier",
        "predicted_tier",
    ]
    assert predictions["probability"].between(0, 1).all()
    likely = predictions[predictions["probability"] >= 0.5]
    assert (likely["predicted_tier"] != likely["current_tier"]).all()
    assert not (likely["current_tier"] == "power").any()


def test_upgrade_uses_given_tiers():
    population = growth_population(n_users=120)
    tiers = population["assignments"][["user_key", "application_id"]].assign(tier="regular")

    result = train_upgrade_model(
        population["daily_usage"],
        population["assignments"],
        population["users"],
        AS_OF,
        tiers=tiers,
        max_iter=50,
    )

    assert set(result.predictions["current_tier"]) == {"regular"}


def test_upgrade_short_history_raises():
    population = growth_population(n_users=20)
    usage = population["daily_usage"]
    recent = usage[pd.to_datetime(usage["usage_date"]) > pd.Timestamp(2026, 11, 1)]

    with pytest.raises(ValueError, match="too short for a time split"):
        train_upgrade_model(recent, population["assignments"], population["users"], AS_OF)


def test_provisioning_beats_baseline(provisioning_result):
    metrics = provisioning_result.metrics
    baseline = provisioning_result.baseline_metrics

    assert metrics["positives"] > 0
    assert metrics["roc_auc"] > baseline["roc_auc"]
    assert metrics["average_precision"] > baseline["average_precision"] + 0.2
    assert metrics["train_end"] < metrics["test_start"]


def test_provisioning_candidates_exclude_holders_and_users():
    population = adoption_population(n_users=150)
    usage = population["daily_usage"]
    users = population["users"]
    holder = users["user_key"].iloc[1]
    leaver = users["user_key"].iloc[4]
    users.loc[users["user_key"] == leaver, "hr_status"] = "terminated"
    held = pd.DataFrame(
        [
            {
                "user_key": holder,
                "application_id": "design",
                "application": "DESIGN",
                "sku": "D",
                "assigned_on": date(2026, 1, 1),
                "source": "test",
            }
        ]
    )

    result = train_provisioning_model(usage, held, users, AS_OF, max_iter=50)
    pairs = set(
        zip(result.predictions["user_key"], result.predictions["application_id"], strict=True)
    )
    used = set(zip(usage["user_key"], usage["application_id"], strict=True))

    assert (holder, "design") not in pairs
    assert not pairs & used
    assert leaver not in set(result.predictions["user_key"])
    assert list(result.predictions.columns) == ["user_key", "application_id", "probability"]
