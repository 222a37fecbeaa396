"""The as-of date comes from the data, and one far past the data stops the run."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from licpipe.assets.ml import read_as_of


def _marts(as_of, latest):
    con = duckdb.connect()
    con.execute("create schema main_marts")
    con.execute("create table main_marts.as_of_date (as_of_date date, latest_data_on date)")
    con.execute("insert into main_marts.as_of_date values (?, ?)", [as_of, latest])
    return con


def test_as_of_from_data():
    con = _marts(date(2026, 12, 15), date(2026, 12, 15))

    assert read_as_of(con) == date(2026, 12, 15)


def test_as_of_within_a_week_allowed():
    con = _marts(date(2026, 12, 20), date(2026, 12, 15))

    assert read_as_of(con) == date(2026, 12, 20)


def test_as_of_far_past_data_rejected():
    con = _marts(date(2030, 1, 1), date(2026, 12, 15))

    with pytest.raises(ValueError) as error:
        read_as_of(con)

    assert "2026-12-15" in str(error.value)
    assert "--as-of" in str(error.value)


def test_empty_as_of_rejected():
    con = _marts(None, None)

    with pytest.raises(ValueError, match="no dated activity"):
        read_as_of(con)


def test_as_of_before_data_rejected():
    con = _marts(date(2000, 1, 1), date(2026, 12, 15))
    con.execute("create schema main_intermediate")
    con.execute("create table main_intermediate.int_usage_events (usage_date date)")
    con.execute(
        "insert into main_intermediate.int_usage_events "
        "values ('1970-01-01'), ('2026-06-18'), ('2026-12-15')"
    )

    with pytest.raises(ValueError) as error:
        read_as_of(con)

    assert "before the earliest usage" in str(error.value)
    assert "--as-of 2026-06-18" in str(error.value)
