from datetime import date, timedelta

import joblib
import pandas as pd
import pytest

from licpipe.ml.classifiers import (
    ProvisioningModel,
    UpgradeModel,
    provisioning_baseline_scores,
    score_provisioning,
    score_upgrades,
    train_provisioning_model,
    train_upgrade_model,
    upgrade_baseline_scores,
)
from licpipe.ml.evaluation import ranking_metrics
from licpipe.ml.features import build_user_features
from tests.ml.frames import ASSIGNMENT_COLUMNS, frame, person, usage_rows
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


def test_upgrade_baseline_is_last_month_days(growth):
    usage, assignments, users = _frames(growth)
    features = build_user_features(usage, assignments, users, AS_OF, include_periodicity=False)

    scores = upgrade_baseline_scores(usage, AS_OF)
    merged = features.merge(scores, on=["user_key", "application_id"], how="left")

    assert len(scores) > 0
    assert (scores["score"] > 0).all()
    assert merged["score"].fillna(0).tolist() == merged["active_days_30"].astype(float).tolist()


def test_provisioning_baseline_matches_training(provisioning_result, adoption):
    usage, _, users = _frames(adoption)
    test_cutoff = date.fromisoformat(provisioning_result.metrics["test_start"])
    test_end = date.fromisoformat(provisioning_result.metrics["test_end"])
    days = pd.to_datetime(usage["usage_date"]).dt.date
    later = usage[(days > test_cutoff) & (days <= test_end)]
    started = set(zip(later["user_key"], later["application_id"], strict=True))

    scores = provisioning_baseline_scores(usage, users, test_cutoff)
    labels = [
        int(pair in started)
        for pair in zip(scores["user_key"], scores["application_id"], strict=True)
    ]
    metrics = ranking_metrics(labels, scores["score"])

    assert metrics["n"] == provisioning_result.baseline_metrics["n_test"]
    assert metrics["positives"] == provisioning_result.baseline_metrics["positives"]
    assert metrics["roc_auc"] == pytest.approx(provisioning_result.baseline_metrics["roc_auc"])


def test_provisioning_baseline_peer_share():
    # Ops has five employees: a and b used crm in the last 30 days, c only 40 days ago, idle and
    # new never. Each non-user's peers are the four others, two of them recent users: 2 / 4.
    names = ["a", "b", "c", "idle", "new"]
    users = frame([person(f"{name}@x.com", department="Ops") for name in names])
    recent = [AS_OF - timedelta(days=3)]
    rows = usage_rows("a@x.com", "crm", recent) + usage_rows("b@x.com", "crm", recent)
    rows += usage_rows("c@x.com", "crm", [AS_OF - timedelta(days=40)])
    for name in names:
        rows += usage_rows(f"{name}@x.com", "mail", recent)

    scores = provisioning_baseline_scores(frame(rows), users, AS_OF)
    crm = scores[scores["application_id"] == "crm"].set_index("user_key")["score"]

    assert crm.to_dict() == {"idle@x.com": pytest.approx(0.5), "new@x.com": pytest.approx(0.5)}


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


@pytest.mark.parametrize(("label", "expected"), [(False, 0.0), (True, 1.0)])
def test_single_class_scores_positive_probability(label, expected):
    import numpy as np

    from licpipe.ml.classifiers import _fit, _scores, build_classifier_pipeline

    rows = pd.DataFrame({"x": [0.0, 1.0, 2.0], "department": ["a", "b", "a"]})
    parameters: dict = {}
    model = _fit(
        build_classifier_pipeline(["x"], ["department"]),
        rows,
        np.array([label] * 3),
        parameters,
        n_threads=1,
    )

    scores = _scores(model, rows, n_threads=1)

    assert parameters["method"] == "prior"
    assert scores.tolist() == [expected] * 3


def test_pipeline_never_stops_early():
    from licpipe.ml.classifiers import build_classifier_pipeline

    pipeline = build_classifier_pipeline(["x"], [])

    assert pipeline.named_steps["classifier"].early_stopping is False
