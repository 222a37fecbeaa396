"""Fitted models on disk and their records in `analytics.model_runs`.

A model is saved as `<models_dir>/<name>/<data_hash>.joblib` with the run record beside it. The
nightly run reuses the newest saved model; retraining (monthly schedule or `licpipe retrain`)
fits a new one. A run record is written once per model, version and data hash, so re-running
the same input adds no rows, and a new version of a model adds one.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import joblib
import pandas as pd

MODEL_RUNS_COLUMNS = {
    "run_id": "VARCHAR",
    "model": "VARCHAR",
    "version": "VARCHAR",
    "trained_at": "TIMESTAMP",
    "train_start": "DATE",
    "train_end": "DATE",
    "test_start": "DATE",
    "test_end": "DATE",
    "parameters": "JSON",
    "metrics": "JSON",
    "baseline_metrics": "JSON",
    "data_hash": "VARCHAR",
}


def frame_hash(*frames: pd.DataFrame) -> str:
    """Hash the frames' contents with SHA-256, independent of row order."""
    digest = hashlib.sha256()
    for frame in frames:
        if frame.empty:
            digest.update(b"empty")
            continue
        ordered = frame.reindex(sorted(frame.columns), axis=1).copy()
        # Float sums vary in the last bits with the order DuckDB adds rows in. Rounding to 9
        # decimals keeps one input from hashing two ways.
        for column in ordered.select_dtypes(include="floating").columns:
            ordered[column] = ordered[column].round(9)
        row_hashes = pd.util.hash_pandas_object(ordered.astype(str), index=False)
        digest.update(",".join(sorted(ordered.columns)).encode())
        digest.update(str(sorted(row_hashes.tolist())).encode())
    return digest.hexdigest()


def ensure_model_runs(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists analytics")
    columns = ", ".join(f"{name} {kind}" for name, kind in MODEL_RUNS_COLUMNS.items())
    con.execute(f"create table if not exists analytics.model_runs ({columns})")


def record_model_run(
    con: duckdb.DuckDBPyConnection,
    *,
    model: str,
    version: str,
    data_hash: str,
    parameters: dict[str, Any],
    metrics: dict[str, Any],
    baseline_metrics: dict[str, Any] | None = None,
    train_start=None,
    train_end=None,
    test_start=None,
    test_end=None,
) -> str:
    """Insert a run record unless one exists for this model, version and data hash.

    Returns the run id, which is derived from the same three values.
    """
    ensure_model_runs(con)
    found = con.execute(
        "select run_id from analytics.model_runs where model = ? and version = ? and data_hash = ?",
        [model, version, data_hash],
    ).fetchone()
    if found:
        return found[0]
    run_id = uuid.uuid5(uuid.NAMESPACE_URL, f"licpipe:{model}:{version}:{data_hash}").hex
    con.execute(
        "insert into analytics.model_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            model,
            version,
            datetime.now(UTC).replace(tzinfo=None),
            train_start,
            train_end,
            test_start,
            test_end,
            json.dumps(parameters, default=str, sort_keys=True),
            json.dumps(metrics, default=str, sort_keys=True),
            json.dumps(baseline_metrics or {}, default=str, sort_keys=True),
            data_hash,
        ],
    )
    return run_id


class ModelStore:
    """Saves and reloads fitted models under the warehouse folder."""

    def __init__(self, root: Path):
        self.root = root

    def save(self, name: str, data_hash: str, model: Any, record: dict[str, Any]) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{data_hash}.joblib"
        temporary = path.with_suffix(".tmp")
        joblib.dump({"model": model, "record": record}, temporary)
        temporary.replace(path)
        return path

    def latest(self, name: str) -> tuple[Any, dict[str, Any]] | None:
        """Load the newest saved model and its record, or return None when none exists."""
        folder = self.root / name
        if not folder.is_dir():
            return None
        candidates = sorted(folder.glob("*.joblib"), key=lambda p: p.stat().st_mtime)
        if not candidates:
            return None
        payload = joblib.load(candidates[-1])
        return payload["model"], payload["record"]
