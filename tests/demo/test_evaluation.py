"""evaluate_demo on a hand-built analytics snapshot with hand-computed metrics."""

import csv
import json
from pathlib import Path

import duckdb
import pytest

from licpipe.evaluation import evaluate_demo

LICENSES = [
    # user_email, application, tier, is_inactive, is_terminated, will_upgrade, is_intermittent
    ("a@x.com", "Slack", "power", "false", "false", "false", "false"),
    ("b@x.com", "Slack", "power", "false", "false", "false", "false"),
    ("c@x.com", "Slack", "power", "false", "false", "false", "false"),
    ("e@x.com", "Slack", "light", "false", "false", "true", "false"),
    ("f@x.com", "Slack", "light", "false", "false", "false", "false"),
    ("h@x.com", "Slack", "light", "false", "false", "false", "false"),
    ("i1@x.com", "Slack", "non-user", "true", "false", "false", "false"),
    ("t1@x.com", "Slack", "regular", "false", "true", "false", "false"),
    ("q1@x.com", "Salesforce Sales Cloud", "light", "false", "false", "false", "true"),
    ("g1@x.com", "Adobe Creative Cloud", "non-user", "true", "false", "false", "false"),
]
PEOPLE = ["a", "b", "c", "e", "f", "h", "i1", "t1", "q1", "g1", "n1"]


def _write(path: Path, header: list[str], rows: list) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _truth(demo: Path) -> None:
    truth = demo / "truth"
    truth.mkdir(parents=True)
    _write(
        truth / "licenses.csv",
        "user_email,application,tier,is_inactive,is_terminated,will_upgrade,is_intermittent".split(
            ","
        ),
        LICENSES,
    )
    _write(
        truth / "provisioning.csv",
        ["user_email", "application", "needed_by"],
        [("n1@x.com", "Adobe Creative Cloud", "2026-12-20")],
    )
    people = [
        (
            f"{p}@x.com",
            f"E{n}",
            p,
            "Ops",
            "Analyst",
            "terminated" if p == "t1" else "active",
            "false",
            "false",
        )
        for n, p in enumerate(PEOPLE)
    ]
    _write(
        truth / "people.csv",
        "user_email,employee_id,username,department,role,status,is_external,is_service_account".split(
            ","
        ),
        people,
    )
    _write(
        truth / "anomalies.csv",
        ["application", "observed_on", "kind"],
        [
            ("Slack", "2026-10-30", "spike"),
            ("Slack", "2026-09-18", "drop"),
            ("Adobe Creative Cloud", "2026-11-02", "spike"),
        ],
    )
    _write(
        truth / "compliance.csv",
        ["application", "sku", "seats_owned", "seats_used", "kind"],
        [
            ("Adobe Creative Cloud", "Creative Cloud All Apps", 29, 32, "over_assigned"),
            ("AcmeCAD", "CAD_PRO", 8, 20, "over_installed"),
            ("Salesforce Sales Cloud", "Sales Cloud Enterprise", 10, 12, "over_assigned"),
        ],
    )
    manifest = {"as_of": "2026-12-15", "seed": 1, "users": 11, "days": 120}
    (truth / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _open(demo: Path) -> duckdb.DuckDBPyConnection:
    """Open analytics.duckdb under another name: its catalog would clash with the schema."""
    con = duckdb.connect()
    con.execute(f"attach '{demo / 'analytics.duckdb'}' as snap")
    con.execute("use snap")
    return con


def _compliance_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Add a true_up recommendation and usage_anomalies rows for the anomaly and gap tests."""
    con.execute("alter table main.recommendations add column sku varchar")
    con.execute(
        "insert into main.recommendations values "
        "('r6', 'true_up', null, 'adobe_cc', 'Adobe Creative Cloud', 'creative cloud all apps ')"
    )
    con.execute(
        "create table main.usage_anomalies (anomaly_type varchar, application_id varchar, "
        "user_key varchar, observed_on date)"
    )
    con.execute(
        "insert into main.usage_anomalies values "
        "('spike', 'slack', null, '2026-10-30'), "
        "('spike', 'slack', null, '2026-09-18'), "
        "('drop', 'adobe_cc', null, '2026-11-03'), "
        "('spike', 'm365', null, '2026-10-30'), "
        "('over_assigned', 'adobe_cc', null, '2026-12-15'), "
        "('over_installed', 'salesforce', null, '2026-12-15'), "
        "('never_used', 'slack', 'a@x.com', '2026-09-18')"
    )


def _marts(con: duckdb.DuckDBPyConnection) -> None:
    """Add the usage and HR marts the classifier baselines are computed from.

    Active days in the last 30 days: e 10, f 2, h 12 on Slack. n1 and i1 sit in Design with
    g1, who used Adobe in the last 30 days, so the Adobe department peer share is 1/2 for n1
    and i1 and 0 for the other employees, all in Ops.
    """
    con.execute("create schema marts")
    con.execute(
        "create table marts.fct_daily_usage (user_key varchar, application_id varchar, "
        "application varchar, usage_date date, is_active boolean)"
    )
    for user, app, days in (("e", "slack", 10), ("f", "slack", 2), ("h", "slack", 12)):
        for offset in range(days):
            con.execute(
                "insert into marts.fct_daily_usage values "
                "(?, ?, 'x', date '2026-12-15' - cast(? as integer), true)",
                [f"{user}@x.com", app, offset],
            )
    # A day outside the 30-day window must not count.
    con.execute(
        "insert into marts.fct_daily_usage values "
        "('f@x.com', 'slack', 'Slack', date '2026-10-01', true)"
    )
    con.execute(
        "insert into marts.fct_daily_usage values "
        "('g1@x.com', 'adobe_cc', 'Adobe Creative Cloud', date '2026-12-01', true)"
    )
    con.execute(
        "create table marts.dim_users (user_key varchar, email varchar, department varchar, "
        "role varchar, hire_date date, termination_date date, hr_status varchar, "
        "is_in_hr boolean, is_service_account boolean, is_external boolean)"
    )
    for person in PEOPLE:
        department = "Design" if person in ("n1", "i1", "g1") else "Ops"
        status = "terminated" if person == "t1" else "active"
        ended = "2026-11-01" if person == "t1" else None
        con.execute(
            "insert into marts.dim_users values "
            "(?, ?, ?, 'Analyst', '2024-01-01', ?, ?, true, false, false)",
            [f"{person}@x.com", f"{person.upper()}@X.com", department, ended, status],
        )


def _analytics(demo: Path) -> None:
    con = _open(demo)
    con.execute("create schema if not exists main")
    con.execute(
        "create table main.recommendations (recommendation_id varchar, action varchar, "
        "user_email varchar, application_id varchar, application varchar)"
    )
    con.execute(
        "insert into main.recommendations values "
        "('r1', 'reclaim', ' I1@X.com ', 'slack', 'Slack'), "
        "('r2', 'reclaim', 't1@x.com', 'slack', 'SLACK'), "
        "('r3', 'reclaim', 'q1@x.com', 'salesforce', 'Salesforce Sales Cloud'), "
        "('r4', 'reclaim', 'x@x.com', 'slack', 'Slack'), "
        "('r5', 'downgrade', 'a@x.com', 'slack', 'Slack')"
    )
    _compliance_tables(con)
    con.execute(
        "create table main.usage_tiers (user_key varchar, user_email varchar, "
        "application_id varchar, application varchar, tier varchar)"
    )
    tiers = [
        ("a", "power"),
        ("b", "power"),
        ("c", "regular"),
        ("e", "regular"),
        ("f", "light"),
        ("h", "light"),
        ("zz", "power"),
    ]
    for user, tier in tiers:
        con.execute(
            "insert into main.usage_tiers values (?, ?, 'slack', 'Slack', ?)",
            [f"{user}@x.com", f"{user.upper()}@x.com", tier],
        )
    con.execute(
        "create table main.upgrade_predictions (user_key varchar, user_email varchar, "
        "application_id varchar, application varchar, probability double)"
    )
    for user, probability in (("e", 0.9), ("f", 0.2), ("h", 0.95)):
        con.execute(
            "insert into main.upgrade_predictions values (?, ?, 'slack', 'Slack', ?)",
            [f"{user}@x.com", f"{user}@x.com", probability],
        )
    con.execute(
        "create table main.provisioning_predictions (user_key varchar, user_email varchar, "
        "application_id varchar, application varchar, probability double)"
    )
    for user, probability in (("n1", 0.8), ("a", 0.3), ("e", 0.9)):
        con.execute(
            "insert into main.provisioning_predictions values "
            "(?, ?, 'adobe_cc', 'Adobe Creative Cloud', ?)",
            [f"{user}@x.com", f"{user}@x.com", probability],
        )
    con.execute(
        "create table main.model_runs (run_id varchar, model varchar, trained_at timestamp, "
        "metrics json, baseline_metrics json)"
    )
    upgrade_metrics = '{"roc_auc": 0.7, "positives": 40}'
    forecast_metrics = (
        '{"mape": 0.12, "coverage_80": 0.83, "coverage_80_uncalibrated": 0.6, '
        '"interval_width": 9.5}'
    )
    forecast_baseline = '{"mape": 0.2, "coverage_80": 0.9, "interval_width": 14.0}'
    con.execute(
        "insert into main.model_runs values "
        "('1', 'upgrade_classifier', '2026-12-15 01:00', ?, '{\"roc_auc\": 0.61}'), "
        "('2', 'forecast_slack', '2026-12-01 01:00', '{\"mape\": 0.5, \"coverage_80\": 0.5}', "
        "'{\"mape\": 0.9}'), "
        "('3', 'forecast_slack', '2026-12-15 01:00', ?, ?)",
        [upgrade_metrics, forecast_metrics, forecast_baseline],
    )
    _marts(con)
    con.close()


@pytest.fixture()
def demo(tmp_path: Path) -> Path:
    _truth(tmp_path)
    _analytics(tmp_path)
    return tmp_path


def test_reclaim_precision_recall(demo: Path) -> None:
    result = evaluate_demo(demo)
    reclaim = result["reclaim"]
    assert reclaim["recommended"] == 4
    assert reclaim["true_positives"] == 2
    assert reclaim["right_to_reclaim"] == 3
    assert reclaim["precision"] == pytest.approx(0.5)
    assert reclaim["recall"] == pytest.approx(2 / 3)
    assert result["intermittent_reclaimed"] == 1


def test_tiers_adjusted_rand(demo: Path) -> None:
    # Truth (power x3, light x3) against predicted (power, power, regular, regular, light,
    # light): pair counts give (2 - 1.2) / (4.5 - 1.2) = 8/33.
    tiers = evaluate_demo(demo)["tiers"]
    assert tiers["matched"] == 6
    assert tiers["adjusted_rand"] == pytest.approx(8 / 33)


def test_upgrade_auc_missing_rows_zero(demo: Path) -> None:
    # Eligible: e (positive, 0.9), f (0.2), h (0.95), q1 (no row, so 0): 2 of 3 pairs won. The
    # top decile of 4 rows is h alone, a negative.
    upgrade = evaluate_demo(demo)["upgrade"]
    assert upgrade["evaluated"] == 4
    assert upgrade["positives"] == 1
    assert upgrade["roc_auc"] == pytest.approx(2 / 3)
    assert upgrade["precision_at_top_decile"] == 0.0


def test_upgrade_baseline_from_usage(demo: Path) -> None:
    # Active days in the last 30: e 10, f 2, h 12, q1 0, so e beats f and q1 but not h.
    upgrade = evaluate_demo(demo)["upgrade"]
    assert upgrade["baseline"] == "active days in the last 30 days"
    assert upgrade["baseline_roc_auc"] == pytest.approx(2 / 3)
    assert upgrade["baseline_precision_at_top_decile"] == 0.0


def test_upgrade_held_out_from_model_runs(demo: Path) -> None:
    held_out = evaluate_demo(demo)["upgrade"]["held_out"]
    assert held_out["model"] == "upgrade_classifier"
    assert held_out["positives"] == 40
    assert held_out["roc_auc"] == pytest.approx(0.7)
    assert held_out["baseline_roc_auc"] == pytest.approx(0.61)


def test_provisioning_auc(demo: Path) -> None:
    # Candidates are the 9 active employees without Adobe. n1 (0.8) loses only to e (0.9), and
    # e alone is the top decile of 9 rows.
    provisioning = evaluate_demo(demo)["provisioning"]
    assert provisioning["evaluated"] == 9
    assert provisioning["positives"] == 1
    assert provisioning["roc_auc"] == pytest.approx(7 / 8)
    assert provisioning["precision_at_top_decile"] == 0.0
    assert provisioning["held_out"] is None


def test_provisioning_baseline_peer_share(demo: Path) -> None:
    # n1 and i1 score 1/2 and the other seven 0: n1 beats 7 negatives and ties i1. The top
    # decile is one of the two tied rows, so half a positive is expected.
    provisioning = evaluate_demo(demo)["provisioning"]
    assert provisioning["baseline_roc_auc"] == pytest.approx(7.5 / 8)
    assert provisioning["baseline_precision_at_top_decile"] == pytest.approx(0.5)


def test_anomalies_recall(demo: Path) -> None:
    # Only the Slack spike on 10-30 matches in application, day and kind. Slack 09-18 is
    # flagged as a spike, not a drop, and Adobe is flagged a day late. Flagged days are Slack
    # 10-30 and 09-18, Adobe 11-03 and Microsoft 365 10-30.
    anomalies = evaluate_demo(demo)["anomalies"]
    assert anomalies["planted"] == 3
    assert anomalies["found"] == 1
    assert anomalies["recall"] == pytest.approx(1 / 3)
    assert anomalies["flagged_days"] == 4
    assert anomalies["missed"] == [
        {"application": "Adobe Creative Cloud", "observed_on": "2026-11-02", "kind": "spike"},
        {"application": "Slack", "observed_on": "2026-09-18", "kind": "drop"},
    ]


def test_compliance_gaps_found(demo: Path) -> None:
    # Adobe has a true_up (SKU matched case-insensitively) and an over_assigned row. AcmeCAD has
    # neither, and the Salesforce anomaly is over_installed, not over_assigned.
    compliance = evaluate_demo(demo)["compliance"]
    gaps = {gap["application"]: gap for gap in compliance["gaps"]}
    assert compliance["planted"] == 3
    assert compliance["found"] == 1
    assert compliance["recall"] == pytest.approx(1 / 3)
    assert gaps["Adobe Creative Cloud"]["true_up"] is True
    assert gaps["Adobe Creative Cloud"]["anomaly"] is True
    assert gaps["AcmeCAD"]["found"] is False
    assert gaps["Salesforce Sales Cloud"]["anomaly"] is False
    assert gaps["Salesforce Sales Cloud"]["found"] is False


def test_anomaly_truth_missing(demo: Path) -> None:
    (demo / "truth" / "anomalies.csv").unlink()
    (demo / "truth" / "compliance.csv").unlink()
    result = evaluate_demo(demo)
    assert result["anomalies"]["recall"] is None
    assert "anomalies.csv not found" in result["anomalies"]["reason"]
    assert result["compliance"]["recall"] is None
    assert "compliance.csv not found" in result["compliance"]["reason"]


def test_forecasts_latest_run(demo: Path) -> None:
    # The snapshot's model_runs has no parameters column, so method and scale are unknown.
    models = evaluate_demo(demo)["forecasts"]["models"]
    assert models == [
        {
            "model": "forecast_slack",
            "method": None,
            "mape": 0.12,
            "baseline_mape": 0.2,
            "coverage_80": 0.83,
            "coverage_80_uncalibrated": 0.6,
            "baseline_coverage_80": 0.9,
            "interval_width": 9.5,
            "baseline_interval_width": 14.0,
            "interval_scale": None,
        }
    ]


def test_result_is_json(demo: Path) -> None:
    text = json.dumps(evaluate_demo(demo))
    assert "adjusted_rand" in text


def test_missing_tables_give_reasons(tmp_path: Path) -> None:
    _truth(tmp_path)
    con = _open(tmp_path)
    con.execute("create schema if not exists main")
    con.close()
    result = evaluate_demo(tmp_path)
    for name in ("reclaim", "tiers", "provisioning", "anomalies", "compliance"):
        assert "not found" in result[name]["reason"]
    assert result["reclaim"]["precision"] is None
    assert result["intermittent_reclaimed"] is None
    assert result["tiers"]["adjusted_rand"] is None
    assert result["upgrade"]["roc_auc"] is None
    assert result["upgrade"]["baseline_roc_auc"] is None
    assert "not found" in result["upgrade"]["baseline_reason"]
    assert result["provisioning"]["baseline_roc_auc"] is None
    assert "not found" in result["provisioning"]["baseline_reason"]
    assert result["anomalies"]["recall"] is None
    assert result["anomalies"]["flagged_days"] is None
    assert result["compliance"]["recall"] is None
    assert result["forecasts"]["models"] == []
    assert "reason" in result["forecasts"]


def test_missing_database_gives_reasons(tmp_path: Path) -> None:
    _truth(tmp_path)
    result = evaluate_demo(tmp_path)
    assert result["intermittent_reclaimed"] is None
    assert "not found" in result["tiers"]["reason"]
