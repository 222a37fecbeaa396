"""Run records in analytics.model_runs and saved models under the models folder."""

import json
from pathlib import Path

import duckdb
import pandas as pd

from licpipe import model_store


def _record(con, version: str, data_hash: str, mape: float) -> str:
    return model_store.record_model_run(
        con,
        model="forecast_crm",
        version=version,
        data_hash=data_hash,
        parameters={"interval_scale": 1.2},
        metrics={"mape": mape},
    )


def test_same_input_adds_no_run():
    con = duckdb.connect()

    first = _record(con, "2", "abc", 0.1)
    again = _record(con, "2", "abc", 0.3)

    assert again == first
    assert con.execute("select count(*) from analytics.model_runs").fetchone()[0] == 1
    metrics = con.execute("select metrics from analytics.model_runs").fetchone()[0]
    assert json.loads(metrics) == {"mape": 0.1}


def test_new_version_adds_run():
    con = duckdb.connect()

    old = _record(con, "1", "abc", 0.1)
    new = _record(con, "2", "abc", 0.2)
    rows = con.execute("select version, metrics from analytics.model_runs order by 1").fetchall()

    assert new != old
    assert [(version, json.loads(metrics)) for version, metrics in rows] == [
        ("1", {"mape": 0.1}),
        ("2", {"mape": 0.2}),
    ]


def test_frame_hash_ignores_row_order():
    frame = pd.DataFrame({"ds": ["2024-01-01", "2024-01-02"], "y": [1.0, 2.0]})

    assert model_store.frame_hash(frame) == model_store.frame_hash(frame.iloc[::-1])
    assert model_store.frame_hash(frame) != model_store.frame_hash(frame.assign(y=[1.0, 3.0]))


def test_store_round_trips_model(tmp_path: Path):
    store = model_store.ModelStore(tmp_path / "models")

    assert store.latest("upgrade") is None
    store.save("upgrade", "abc", {"weights": [1, 2]}, {"train_end": "2026-12-15"})
    model, record = store.latest("upgrade")

    assert model == {"weights": [1, 2]}
    assert record == {"train_end": "2026-12-15"}
