import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from licpipe.connectors import hr
from licpipe.connectors.base import SourceFileError
from licpipe.loading import load_source

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hr"
AS_OF = date(2026, 12, 15)


def test_text_ids_and_na_fte():
    parsed = hr.parse_file(FIXTURES / "text_ids_and_na_fte.csv", as_of=AS_OF)
    rows = parsed.tables["hr_directory"]

    assert parsed.records_total == 4
    assert len(rows) == 4
    assert parsed.rejects == []
    assert [row["employee_id"] for row in rows] == ["10001", "10002", "C-0003", "10004"]
    assert all(isinstance(row["employee_id"], str) for row in rows)
    assert [row["fte"] for row in rows] == [1.0, 0.5, 1.0, None]
    assert parsed.notes["null_coerced"] == 1
    assert rows[0]["cost_center"] == "4100"
    assert hr.SCHEMAS["hr_directory"]["employee_id"] == "VARCHAR"


def test_lower_case_emails_and_status():
    parsed = hr.parse_file(FIXTURES / "lower_case_emails.csv", as_of=AS_OF)
    rows = parsed.tables["hr_directory"]

    assert [row["email_normalised"] for row in rows] == [
        "jane.doe@example.com",
        "sam.lee@example.com",
    ]
    assert [row["status"] for row in rows] == ["active", "terminated"]
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 2


def test_email_kept_raw(tmp_path):
    path = tmp_path / "hr.csv"
    path.write_text("employee_id,email,status\nE9,Jane.Doe@Example.com ,active\n")

    row = hr.parse_file(path, as_of=AS_OF).tables["hr_directory"][0]

    assert row["email"] == "Jane.Doe@Example.com "
    assert row["email_normalised"] == "jane.doe@example.com"


def test_header_aliases_mapped():
    parsed = hr.parse_file(FIXTURES / "header_aliases.csv", as_of=AS_OF)
    ana = parsed.tables["hr_directory"][0]

    assert ana["employee_id"] == "C-0001"
    assert ana["email"] == "ana.ruiz@example.com"
    assert ana["username"] == "aruiz"
    assert ana["role"] == "Senior Designer"
    assert ana["manager_email"] == "ben.okafor@example.com"
    assert ana["location"] == "Madrid"
    assert ana["cost_center"] == "4100"
    assert ana["hire_date"] == date(2021, 3, 1)
    assert ana["display_name"] == "Ana Ruiz"
    assert ana["status_raw"] == "Active"


def test_status_rules():
    parsed = hr.parse_file(FIXTURES / "header_aliases.csv", as_of=AS_OF)
    status = {row["employee_id"]: row["status"] for row in parsed.tables["hr_directory"]}

    assert status["C-0001"] == "active"
    assert status["0002"] == "leave"
    # Inactive with a past end date, and active with a past end date, are both terminated.
    assert status["0003"] == "terminated"
    assert status["0005"] == "terminated"
    # A termination date after the as-of date does not end employment yet.
    assert status["0004"] == "active"
    assert status["0006"] is None
    assert parsed.notes["unknown_status"] == 1


def test_future_termination_applies_later():
    parsed = hr.parse_file(FIXTURES / "header_aliases.csv", as_of=date(2027, 2, 1))
    status = {row["employee_id"]: row["status"] for row in parsed.tables["hr_directory"]}

    assert status["0004"] == "terminated"


def test_bad_values_counted():
    parsed = hr.parse_file(FIXTURES / "header_aliases.csv", as_of=AS_OF)
    fay = next(row for row in parsed.tables["hr_directory"] if row["employee_id"] == "0006")

    assert fay["fte"] is None
    assert parsed.notes["null_coerced"] == 1
    assert [reject.line_number for reject in parsed.rejects] == [8]
    assert "hire_date" in parsed.rejects[0].reason
    assert "31.02.2020" in parsed.rejects[0].reason
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 7


def test_missing_email_column_raises(tmp_path):
    path = tmp_path / "hr.csv"
    path.write_text("employee_id,department\nE1,Design\n")

    with pytest.raises(SourceFileError, match="e-mail column"):
        hr.parse_file(path)


def test_detect_hr_header():
    path = FIXTURES / "text_ids_and_na_fte.csv"

    assert hr.detect(path, path.read_text())
    assert not hr.detect(path, "Report Refresh Date,User Principal Name\n")


def test_duckdb_load_keeps_every_row(tmp_path):
    landing = tmp_path / "landing"
    (landing / "hr").mkdir(parents=True)
    shutil.copy(FIXTURES / "text_ids_and_na_fte.csv", landing / "hr" / "hr_directory.csv")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))

    load_source(con, "hr", landing)
    rows = con.sql("select employee_id, fte from raw.hr_directory order by _line_number").fetchall()
    types = dict(
        con.sql(
            "select column_name, data_type from duckdb_columns() where table_name = 'hr_directory'"
        ).fetchall()
    )
    loaded = con.sql("select records_total, rows_landed, rows_rejected from raw.loaded_files")

    assert rows == [("10001", 1.0), ("10002", 0.5), ("C-0003", 1.0), ("10004", None)]
    assert types["employee_id"] == "VARCHAR"
    assert types["fte"] == "DOUBLE"
    assert loaded.fetchall() == [(4, 4, 0)]
