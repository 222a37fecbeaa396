"""Warehouse builders for the suite tests: raw tables as the loader creates them."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd
import pytest

from licpipe.loading import ensure_raw_tables

LOADED_AT = datetime(2024, 5, 2, 6, 0)


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_raw_tables(connection)
    yield connection
    connection.close()


def land_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: list[dict],
    *,
    source: str,
    file_name: str = "export.csv",
    sha: str = "a" * 64,
    recorded_rows: int | None = None,
    rejected: int = 0,
) -> None:
    """Insert rows into raw.<table> with lineage and record the file as the loader does.

    `recorded_rows` is the count written to the loader's records (default: len(rows)), so a
    test can make the table and the records disagree.
    """
    frame = pd.DataFrame(rows)
    frame["_source_file"] = f"{source}/{file_name}"
    frame["_file_sha256"] = sha
    frame["_line_number"] = range(2, len(frame) + 2)
    frame["_loaded_at"] = LOADED_AT
    con.register("_test_rows", frame)
    con.execute(f"insert into raw.{table} by name select * from _test_rows")
    con.unregister("_test_rows")

    landed = len(rows) if recorded_rows is None else recorded_rows
    con.execute(
        "insert into raw.loaded_files values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [source, file_name, sha, source, landed + rejected, landed, rejected, "{}", LOADED_AT],
    )
    con.execute("insert into raw.loaded_tables values (?, ?, ?)", [sha, table, landed])
