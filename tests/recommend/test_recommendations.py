import json
from decimal import Decimal

import pandas as pd
import pytest

from licpipe.recommend.recommendations import RECOMMENDATION_COLUMNS, build_recommendations
from tests.recommend import scenario


def build(decisions=None, skus=None, **options) -> pd.DataFrame:
    return build_recommendations(
        scenario.reclaim(),
        scenario.tiers(),
        scenario.upgrades(),
        scenario.provisioning(),
        scenario.forecasts(),
        scenario.skus() if skus is None else skus,
        scenario.positions(),
        scenario.concurrency(),
        scenario.no_decisions() if decisions is None else decisions,
        scenario.users(),
        scenario.AS_OF,
        assignments=scenario.assignments(),
        daily_usage=scenario.daily_usage(),
        **options,
    )


def one(frame: pd.DataFrame, action: str, user_key=None, sku=None) -> pd.Series:
    rows = frame[frame["action"] == action]
    if user_key is not None:
        rows = rows[rows["user_key"] == user_key]
    if sku is not None:
        rows = rows[rows["sku"] == sku]
    assert len(rows) == 1, rows
    return rows.iloc[0]


@pytest.fixture(scope="module")
def recommendations() -> pd.DataFrame:
    return build()


def test_columns_match_contract(recommendations):
    assert list(recommendations.columns) == RECOMMENDATION_COLUMNS
    assert set(recommendations["status"]) == {"open"}


def test_reclaim_saves_one_seat(recommendations):
    terminated = one(recommendations, "reclaim", "gone@x.com")
    idle = one(recommendations, "reclaim", "idle@x.com")

    assert terminated["monthly_saving"] == Decimal("150.00")
    assert terminated["annual_saving"] == Decimal("1800.00")
    assert terminated["priority"] == 1
    assert terminated["currency"] == "USD"
    assert idle["monthly_saving"] == Decimal("12.50")
    assert idle["days_since_last_use"] == 105
    assert idle["tier"] == "non-user"
    assert "fin@x.com" not in set(recommendations["user_key"])


def test_downgrade_to_cheaper_sku(recommendations):
    row = one(recommendations, "downgrade", "light@x.com")
    evidence = json.loads(row["evidence"])

    assert row["sku"] == "SF_ENT"
    assert row["monthly_saving"] == Decimal("70.00")
    assert evidence["target_sku"] == "SF_PRO"
    assert evidence["tier"] == "light"


def test_upgrade_is_a_cost(recommendations):
    row = one(recommendations, "upgrade", "grow@x.com")

    assert row["monthly_saving"] == Decimal("-70.00")
    assert json.loads(row["evidence"])["target_sku"] == "SF_ENT"
    assert recommendations[recommendations["action"] == "upgrade"].shape[0] == 1


def test_provision_uses_spare_seats(recommendations):
    slack = one(recommendations, "provision", "new@x.com", "SLACK")
    office = one(recommendations, "provision", "new@x.com", "E3")

    assert slack["monthly_saving"] == Decimal("0.00")
    assert office["monthly_saving"] == Decimal("-36.00")
    assert office["currency"] == "EUR"
    assert "maybe@x.com" not in set(recommendations["user_key"])


def test_right_size_from_upper_bound(recommendations):
    slack = one(recommendations, "right_size", sku="SLACK")
    evidence = json.loads(slack["evidence"])

    assert evidence["seats_needed"] == 88
    assert evidence["yhat_upper"] == 80.0
    assert slack["seats"] == 12
    # One of the 12 seats is freed by a reclaim, which already carries its saving.
    assert evidence["seats_saved_by_reclaims"] == 1
    assert slack["monthly_saving"] == Decimal("137.50")


def test_right_size_respects_commitment_and_quote(recommendations):
    cad = one(recommendations, "right_size", sku="CAD_PRO")
    evidence = json.loads(cad["evidence"])

    assert evidence["seats_needed"] == 8
    assert evidence["min_commitment_seats"] == 8
    assert evidence["price_source"] == "quote"
    assert evidence["observed_peak_concurrent_90d"] == 6
    assert cad["monthly_saving"] == Decimal("560.00")


def test_true_up_for_overuse(recommendations):
    office = one(recommendations, "true_up", sku="E3")

    assert office["seats"] == 5
    assert office["monthly_saving"] == Decimal("-180.00")


def test_no_true_up_for_concurrent_installs(recommendations):
    cad = recommendations[
        (recommendations["action"] == "true_up") & (recommendations["sku"] == "CAD_PRO")
    ]

    assert cad.empty


def test_no_pool_without_concurrent_sku(recommendations):
    pools = recommendations[recommendations["action"] == "pool"]

    assert pools.empty


def test_convert_to_concurrent_when_sku_exists():
    skus = scenario.skus()
    extra = skus.iloc[[2]].copy()
    extra["sku"], extra["license_model"], extra["monthly_unit_price"] = (
        "SLACK_FLOAT",
        "concurrent",
        Decimal("40.00"),
    )
    skus = pd.concat([skus, extra], ignore_index=True)

    frame = build_recommendations(
        scenario.reclaim(),
        scenario.tiers(),
        scenario.upgrades(),
        scenario.provisioning(),
        scenario.forecasts(),
        skus,
        scenario.positions(),
        scenario.concurrency(),
        scenario.no_decisions(),
        scenario.users(),
        scenario.AS_OF,
        assignments=scenario.assignments(),
        daily_usage=scenario.daily_usage(),
    )
    row = one(frame, "convert_to_concurrent", sku="SLACK")

    assert row["monthly_saving"] == Decimal("90") * Decimal("12.50") - 6 * Decimal("40.00")


def test_money_adds_up(recommendations):
    monthly = sum(recommendations["monthly_saving"], Decimal(0))
    annual = sum(recommendations["annual_saving"], Decimal(0))

    assert annual == monthly * 12
    assert all(isinstance(v, Decimal) for v in recommendations["monthly_saving"])
    assert all(v == v.quantize(Decimal("0.01")) for v in recommendations["monthly_saving"])


def test_ids_deterministic_between_runs(recommendations):
    again = build()

    pd.testing.assert_frame_equal(recommendations, again)
    assert recommendations["recommendation_id"].is_unique


def test_evidence_is_json_with_version(recommendations):
    for text in recommendations["evidence"]:
        assert json.loads(text)["evidence_version"] == "1"


def decision(kind: str, decided_at: str, email="idle@x.com", sku="SLACK", action="reclaim"):
    row = {
        "recommendation_id": None,
        "user_email": email.upper(),
        "application": "Slack",
        "sku": sku,
        "action": action,
        "decision": kind,
        "decided_at": pd.Timestamp(decided_at),
        "decided_by": "it@x.com",
        "note": "",
    }
    return pd.DataFrame([row], columns=scenario.no_decisions().columns)


def test_rejected_decision_suppresses():
    frame = build(decision("rejected", "2026-11-01"))
    row = one(frame, "reclaim", "idle@x.com")

    assert row["status"] == "suppressed"
    assert json.loads(row["evidence"])["previous_decision"]["decision"] == "rejected"
    assert (frame.loc[frame["user_key"] != "idle@x.com", "status"] == "open").all()


def test_rejection_before_new_use_reopens():
    row = one(build(decision("rejected", "2026-08-01")), "reclaim", "idle@x.com")

    assert row["status"] == "open"
    assert (
        "after the decision" in json.loads(row["evidence"])["previous_decision"]["reopened_because"]
    )


def test_rejection_reopens_when_evidence_changes():
    previous = build()
    changed = previous.copy()
    mask = (changed["action"] == "right_size") & (changed["sku"] == "SLACK")
    evidence = json.loads(changed.loc[mask, "evidence"].item())
    evidence["seats_needed"] = 95
    changed.loc[mask, "evidence"] = json.dumps(evidence)
    rejected = decision("rejected", "2026-12-01", email="", sku="SLACK", action="right_size")

    same = one(build(rejected, previous_recommendations=previous), "right_size", sku="SLACK")
    moved = one(build(rejected, previous_recommendations=changed), "right_size", sku="SLACK")

    assert same["status"] == "suppressed"
    assert moved["status"] == "open"


def test_accepted_user_action_still_open_while_assigned():
    row = one(build(decision("accepted", "2026-12-10")), "reclaim", "idle@x.com")

    assert row["status"] == "open"
    assert "assignment still exists" in json.loads(row["evidence"])["previous_decision"]["note"]


def test_empty_inputs_give_empty_table():
    empty = pd.DataFrame()

    frame = build_recommendations(
        empty,
        empty,
        empty,
        empty,
        empty,
        scenario.skus(),
        empty,
        empty,
        empty,
        scenario.users(),
        scenario.AS_OF,
    )

    assert frame.empty
    assert list(frame.columns) == RECOMMENDATION_COLUMNS


def test_right_size_shows_server_seats():
    skus = scenario.skus()
    skus["seats_owned_source"] = ["entitlements"] * (len(skus) - 1) + ["license_server"]
    skus["server_seats_issued"] = [None] * (len(skus) - 1) + [12]
    recs = build(skus=skus)
    cad = json.loads(one(recs, "right_size", sku="CAD_PRO")["evidence"])
    slack = json.loads(one(recs, "right_size", sku="SLACK")["evidence"])

    assert cad["seats_owned_source"] == "license_server"
    assert cad["server_seats_issued"] == 12
    assert slack["seats_owned_source"] == "entitlements"
    assert slack["server_seats_issued"] is None


def test_rejected_reclaim_stays_suppressed_next_run():
    rejected = decision("rejected", "2026-11-01")
    first = build(rejected)

    second = one(build(rejected, previous_recommendations=first), "reclaim", "idle@x.com")

    assert second["status"] == "suppressed"
    assert "reopened_because" not in json.loads(second["evidence"])["previous_decision"]


def test_no_true_up_without_purchase_line():
    skus = scenario.skus()
    skus["is_purchased"] = skus["sku"] != "E3"

    recs = build(skus=skus)

    assert recs[(recs["action"] == "true_up") & (recs["sku"] == "E3")].empty


def test_true_up_net_of_reclaimed_seats():
    from licpipe.recommend import rules

    catalog = rules.sku_catalog(scenario.skus())
    drafts = rules.true_up_drafts(scenario.positions(), catalog, {"E3": 2})
    office = next(d for d in drafts if d["sku"] == "E3")

    assert office["seats"] == 3
    assert office["evidence"]["seats_freed_by_reclaims"] == 2
    assert "after the 2 seats the reclaims free" in office["reason"]
