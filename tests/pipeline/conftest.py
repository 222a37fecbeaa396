"""Shared runs of the whole pipeline: each runs the real CLI in a subprocess, once per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

LICPIPE = [sys.executable, "-m", "licpipe.cli"]
# Small enough for CI, large enough that every planted class has members.
DEMO_USERS = 200
DEMO_DAYS = 180


def run_cli(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICPIPE_")}
    return subprocess.run(
        [*LICPIPE, *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def table_counts(path: Path) -> dict[str, int]:
    """Row counts of every table in a DuckDB file, keyed schema.table."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
        return {
            f"{schema}.{table}": con.execute(
                f'select count(*) from "{schema}"."{table}"'
            ).fetchone()[0]
            for schema, table in tables
        }
    finally:
        con.close()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """A demo organisation generated and run end to end through `licpipe demo`."""
    out = tmp_path_factory.mktemp("demo")
    result = run_cli(
        "demo", "--dir", str(out), "--users", str(DEMO_USERS), "--days", str(DEMO_DAYS)
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    (out / "demo_stdout.txt").write_text(result.stdout)
    return out
