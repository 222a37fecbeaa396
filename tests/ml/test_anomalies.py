import warnings
from datetime import date, timedelta

import numpy as np
import pandas as pd

from licpipe.ml.anomalies import (
    ANOMALY_COLUMNS,
    detect_compliance_drift,
    detect_usage_anomalies,
    detect_zombie_accounts,
)
from tests.ml.frames import assignment, frame, person, usage_rows

START = date(2026, 6, 1)


def daily_series(spike_on: date, drop_on: date, seed: int = 4) -> pd.DataFrame:
    """Build 120 days of usage with Poisson weekday and weekend counts, a spike and a drop."""
    rng = np.random.default_rng(seed)
    rows = []
    for offset in range(120):
        day = START + timedelta(days=offset)
        users = int(rng.poisson(40 if day.weekday() < 5 else 8))
        if day == spike_on:
            users = 95
        if day == drop_on:
            users = 3
        for index in range(users):
            rows += usage_rows(f"user{index:03d}@x.com", "crm", [day])
        rows += usage_rows("steady@x.com", "mail", [day])
    return frame(rows)


def test_spike_and_drop_found():
    spike_on, drop_on = date(2026, 7, 15), date(2026, 8, 19)

    anomalies = detect_usage_anomalies(daily_series(spike_on, drop_on))
    found = {(row.anomaly_type, row.observed_on) for row in anomalies.itertuples()}

    assert ("spike", spike_on) in found
    assert ("drop", drop_on) in found
    assert len(found) <= 4
    assert list(anomalies.columns) == ANOMALY_COLUMNS
    assert anomalies["user_key"].isna().all()


def test_weekends_alone_are_not_drops():
    for seed in (1, 2, 3):
        anomalies = detect_usage_anomalies(daily_series(date(2030, 1, 1), date(2030, 1, 2), seed))
        weekend_drops = [
            row
            for row in anomalies.itertuples()
            if row.anomaly_type == "drop" and row.observed_on.weekday() >= 5
        ]

        assert weekend_drops == []
        assert len(anomalies) <= 4


def test_compliance_drift_assigned_and_installed():
    positions = pd.DataFrame(
        [
            {
                "sku": "CC",
                "application_id": "adobe",
                "position_date": date(2026, 12, 14),
                "seats_owned": 50,
                "seats_assigned": 49,
                "installed": 10,
            },
            {
                "sku": "CC",
                "application_id": "adobe",
                "position_date": date(2026, 12, 15),
                "seats_owned": 50,
                "seats_assigned": 53,
                "installed": 10,
            },
            {
                "sku": "CAD",
                "application_id": "cad",
                "position_date": date(2026, 12, 15),
                "seats_owned": 10,
                "seats_assigned": 4,
                "installed": 14,
            },
            {
                "sku": "SF",
                "application_id": "sf",
                "position_date": date(2026, 12, 15),
                "seats_owned": 10,
                "seats_assigned": 10,
                "installed": None,
            },
        ]
    )

    drift = detect_compliance_drift(positions, None).set_index("application_id")

    assert len(drift) == 2
    assert drift.loc["adobe", "anomaly_type"] == "over_assigned"
    assert drift.loc["adobe", "score"] == 3
    assert drift.loc["cad", "anomaly_type"] == "over_installed"
    assert drift.loc["cad", "value"] == 14


def test_compliance_drift_counts_install_devices():
    positions = pd.DataFrame(
        [
            {
                "sku": "SF",
                "application_id": "sf",
                "position_date": date(2026, 12, 15),
                "seats_owned": 1,
                "seats_assigned": 1,
                "installed": None,
            }
        ]
    )
    installs = pd.DataFrame({"device_id": ["d1", "d2", "d2"], "application_id": "sf"})

    drift = detect_compliance_drift(positions, installs)

    assert drift["anomaly_type"].tolist() == ["over_installed"]
    assert drift["value"].tolist() == [2.0]


def test_zombie_accounts_by_kind():
    users = frame(
        [
            person("gone@x.com", hr_status="terminated", termination_date=date(2026, 10, 1)),
            person("off@x.com", idp_status="DEPROVISIONED"),
            person("never@x.com"),
            person("busy@x.com"),
        ]
    )
    assignments = frame(
        [
            assignment(u, "slack", "SLACK", date(2026, 1, 1))
            for u in ["gone@x.com", "off@x.com", "never@x.com", "busy@x.com"]
        ]
    )
    features = pd.DataFrame(
        {
            "user_key": ["gone@x.com", "off@x.com", "never@x.com", "busy@x.com"],
            "application_id": "slack",
            "last_used_on": [date(2026, 9, 30), date(2026, 12, 1), None, date(2026, 12, 14)],
        }
    )

    zombies = detect_zombie_accounts(assignments, users, features, as_of=date(2026, 12, 15))
    kinds = dict(zip(zombies["user_key"], zombies["anomaly_type"], strict=True))

    assert kinds == {
        "gone@x.com": "terminated_licensed",
        "off@x.com": "deprovisioned_licensed",
        "never@x.com": "never_used",
    }
    assert "2026-10-01" in zombies.loc[zombies["user_key"] == "gone@x.com", "detail"].item()
    assert zombies["value"].tolist() == [348.0, 348.0, 348.0]


def test_detector_outputs_share_dtypes():
    spikes = detect_usage_anomalies(daily_series(date(2026, 7, 15), date(2026, 8, 19)))
    users = frame([person("never@x.com")])
    assignments = frame([assignment("never@x.com", "slack", "SLACK", date(2026, 1, 1))])
    features = pd.DataFrame(
        {"user_key": ["never@x.com"], "application_id": "slack", "last_used_on": [None]}
    )
    zombies = detect_zombie_accounts(assignments, users, features, as_of=date(2026, 12, 15))
    empty = detect_compliance_drift(pd.DataFrame(), None)

    assert not spikes.empty
    assert zombies["expected"].isna().all()
    for part in (zombies, empty):
        assert part.dtypes.to_dict() == spikes.dtypes.to_dict()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        combined = pd.concat([spikes, empty, zombies], ignore_index=True)
    assert combined["expected"].dtype == "float64"
    assert combined["score"].dtype == "float64"
