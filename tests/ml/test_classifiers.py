from datetime import date, timedelta

import joblib
import pandas as pd
import pytest

from licpipe.ml.classifiers import (
    ProvisioningModel,
    UpgradeModel,
    score_provisioning,
    score_upgrades,
    train_provisioning_model,
    train_upgrade_model,
)
from tests.ml.frames import ASSIGNMENT_COLUMNS
from tests.ml.synthetic import AS_OF, adoption_population, growth_population


@pytest.fixture(scope="module")
def growth():
    return growth_population()


@pytest.fixture(scope="module")
def adoption():
    population = adoption_population()
    population["assignments"] = pd.DataFrame(columns=ASSIGNMENT_COLUMNS)
    return population


def _frames(population: dict) -> tuple:
    return population["daily_usage"], population["assignments"], population["users"]


@pytest.fixture(scope="module")
def upgrade_result(growth):
    return train_upgrade_model(*_frames(growth), AS_OF)


@pytest.fixture(scope="module")
def provisioning_result(adoption):
    return train_provisioning_model(*_frames(adoption), AS_OF)


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


def test_score_upgrades_matches_training(upgrade_result, growth):
    scored = score_upgrades(upgrade_result.model, *_frames(growth), AS_OF)

    assert isinstance(upgrade_result.model, UpgradeModel)
    pd.testing.assert_frame_equal(scored, upgrade_result.predictions)


def test_score_provisioning_matches_training(provisioning_result, adoption):
    scored = score_provisioning(provisioning_result.model, *_frames(adoption), AS_OF)

    assert isinstance(provisioning_result.model, ProvisioningModel)
    pd.testing.assert_frame_equal(scored, provisioning_result.predictions)


def test_models_survive_joblib(upgrade_result, provisioning_result, growth, adoption, tmp_path):
    joblib.dump(upgrade_result.model, tmp_path / "upgrade.joblib")
    joblib.dump(provisioning_result.model, tmp_path / "provisioning.joblib")
    upgrade = joblib.load(tmp_path / "upgrade.joblib")
    provisioning = joblib.load(tmp_path / "provisioning.joblib")

    pd.testing.assert_frame_equal(
        score_upgrades(upgrade, *_frames(growth), AS_OF), upgrade_result.predictions
    )
    pd.testing.assert_frame_equal(
        score_provisioning(provisioning, *_frames(adoption), AS_OF),
        provisioning_result.predictions,
    )
    assert upgrade.thresholds == upgrade_result.model.thresholds


def test_score_upgrades_newer_data(growth):
    earlier = AS_OF - timedelta(days=14)
    result = train_upgrade_model(*_frames(growth), earlier, max_iter=50)

    scored = score_upgrades(result.model, *_frames(growth), AS_OF)
    later = train_upgrade_model(*_frames(growth), AS_OF, max_iter=50).predictions

    assert list(scored.columns) == list(result.predictions.columns)
    assert scored["probability"].between(0, 1).all()
    assert set(scored["current_tier"]) <= {"light", "regular", "power"}
    # The same pairs are scored as a model trained at the later date would score.
    assert scored[["user_key", "application_id"]].equals(later[["user_key", "application_id"]])
    assert not scored["probability"].equals(result.predictions["probability"])


def test_score_provisioning_newer_data(adoption):
    earlier = AS_OF - timedelta(days=14)
    result = train_provisioning_model(*_frames(adoption), earlier, max_iter=50)
    usage = adoption["daily_usage"]

    scored = score_provisioning(result.model, *_frames(adoption), AS_OF)
    pairs = set(zip(scored["user_key"], scored["application_id"], strict=True))
    used = set(zip(usage["user_key"], usage["application_id"], strict=True))

    assert len(scored) > 0
    assert scored["probability"].between(0, 1).all()
    assert not pairs & used
    # People hired after the training date are scored too.
    hired = adoption["users"].loc[
        pd.to_datetime(adoption["users"]["hire_date"]) > pd.Timestamp(earlier), "user_key"
    ]
    assert set(hired) & set(scored["user_key"])


def test_score_rejects_bare_pipeline(upgrade_result, provisioning_result, growth, adoption):
    with pytest.raises(TypeError, match="retrain"):
        score_upgrades(upgrade_result.model.pipeline, *_frames(growth), AS_OF)
    with pytest.raises(TypeError, match="retrain"):
        score_provisioning(provisioning_result.model.pipeline, *_frames(adoption), AS_OF)
