"""The warehouse connection waits for another process's write lock instead of failing."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import duckdb
import pytest

from licpipe import warehouse


def _hold_lock(path: str, seconds: float, ready) -> None:
    con = duckdb.connect(path)
    con.execute("create table if not exists held (x integer)")
    con.execute("insert into held values (1)")
    ready.set()
    time.sleep(seconds)
    con.close()


def _start_holder(path: Path, seconds: float):
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold_lock, args=(str(path), seconds, ready))
    holder.start()
    assert ready.wait(30), "the lock-holding process did not start"
    return holder


def test_writer_waits_for_other_process(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    holder = _start_holder(path, 1.5)
    started = time.monotonic()
    with warehouse.connect(path, wait_seconds=30) as con:
        waited = time.monotonic() - started
        con.execute("insert into held values (2)")
        rows = con.execute("select count(*) from held").fetchone()[0]
    holder.join(10)
    assert rows == 2
    assert waited > 0.5


def test_lock_timeout_names_file(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    holder = _start_holder(path, 5)
    try:
        with pytest.raises(warehouse.WarehouseLockedError) as error:
            with warehouse.connect(path, wait_seconds=0.5):
                pass
    finally:
        holder.join(10)
    assert str(path) in str(error.value)
    assert "locked" in str(error.value)


def test_replace_table_is_repeatable(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"a": [1, 2, 3]})
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.replace_table(con, "analytics", "t", frame)
        warehouse.replace_table(con, "analytics", "t", frame)
        count = con.execute("select count(*) from analytics.t").fetchone()[0]
    assert count == 3


def test_replace_table_casts_declared_types(tmp_path):
    from decimal import Decimal

    import pandas as pd

    frame = pd.DataFrame({"saving": [Decimal("1.5")], "name": ["a"]})
    types = {"saving": "DECIMAL(18,2)", "absent": "INTEGER"}
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.replace_table(con, "analytics", "t", frame, types)
        described = dict(
            con.execute("select column_name, column_type from (describe analytics.t)").fetchall()
        )
        large = frame.assign(saving=[Decimal("123456789.25")])
        warehouse.replace_table(con, "analytics", "t", large, types)
        value = con.execute("select saving from analytics.t").fetchone()[0]

    assert described == {"saving": "DECIMAL(18,2)", "name": "VARCHAR"}
    assert value == Decimal("123456789.25")


def test_replace_table_types_null_columns(tmp_path):
    import pandas as pd

    frame = pd.DataFrame(
        {"last_used_on": [None], "raised_at": [None], "reason": [None], "seats": [None]}
    )
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.replace_table(con, "analytics", "t", frame, {"seats": "INTEGER"})
        described = dict(
            con.execute("select column_name, column_type from (describe analytics.t)").fetchall()
        )

    assert described["last_used_on"] == "DATE"
    assert described["raised_at"] == "TIMESTAMP"
    assert described["reason"] == "VARCHAR"
    assert described["seats"] == "INTEGER"


def test_second_warehouse_in_folder_rejected(tmp_path):
    first = tmp_path / "m365.duckdb"
    second = tmp_path / "flexlm.duckdb"
    warehouse.claim_output_folder(first)
    first.touch()
    warehouse.claim_output_folder(first)

    with pytest.raises(FileExistsError) as error:
        warehouse.claim_output_folder(second)

    assert "m365.duckdb" in str(error.value)
    assert "its own folder" in str(error.value)
    first.unlink()
    warehouse.claim_output_folder(second)


def test_warehouse_path_that_is_folder(tmp_path):
    with pytest.raises(PermissionError) as error:
        warehouse.check_writable(tmp_path)

    assert "is a folder" in str(error.value)


def test_empty_analytics_table_keeps_declared_types(tmp_path):
    import pandas as pd

    from licpipe.published_types import ANALYTICS_COLUMN_TYPES

    declared = ANALYTICS_COLUMN_TYPES["recommendations"]
    empty = pd.DataFrame(columns=list(declared))
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.replace_table(con, "analytics", "recommendations", empty)
        described = dict(
            con.execute(
                "select column_name, column_type from (describe analytics.recommendations)"
            ).fetchall()
        )

    assert described == declared
    assert described["seats"] == "BIGINT"
