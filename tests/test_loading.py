"""The loader on a real DuckDB file: every line landed or rejected, each file loaded once."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from dagster import materialize

from licpipe.connectors.base import ParsedFile, SourceFileError
from licpipe.loading import _insert_file, ensure_raw_tables, file_sha256, load_source

FIXTURES = Path(__file__).parent / "fixtures"
REAL_FLEXLM_LOGS = ("adskflex_autodesk_debug.log", "mlm_matlab_debug.log")


def land(tmp_path: Path, source: str, *fixtures: Path) -> Path:
    """Copy fixture files into `<tmp>/landing/<source>/` and return the landing root."""
    landing = tmp_path / "landing"
    (landing / source).mkdir(parents=True, exist_ok=True)
    for fixture in fixtures:
        shutil.copy(fixture, landing / source / fixture.name)
    return landing


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def count(con: duckdb.DuckDBPyConnection, sql: str, parameters: list | None = None) -> int:
    return con.execute(sql, parameters or []).fetchone()[0]


@pytest.mark.parametrize("name", REAL_FLEXLM_LOGS)
def test_real_flexlm_lines_all_counted(con, tmp_path, name):
    landing = land(tmp_path, "flexlm", FIXTURES / "flexlm" / name)
    lines = (FIXTURES / "flexlm" / name).read_bytes().count(b"\n")

    summary = load_source(con, "flexlm", landing)

    (outcome,) = summary.files
    assert outcome.status == "loaded"
    file_name = f"flexlm/{name}"
    landed = count(
        con, "select count(*) from raw.flexlm_events where _source_file = ?", [file_name]
    ) + count(
        con, "select count(*) from raw.flexlm_server_events where _source_file = ?", [file_name]
    )
    reasons = dict(
        con.execute(
            "select reason, count(*) from raw.rejects where file_name = ? group by reason",
            [file_name],
        ).fetchall()
    )
    records_total, rows_rejected, notes = con.execute(
        "select records_total, rows_rejected, notes from raw.loaded_files where file_name = ?",
        [file_name],
    ).fetchone()
    blank_lines = json.loads(notes)["blank_lines"]
    assert lines == 2000
    assert landed + sum(reasons.values()) + blank_lines == lines
    assert blank_lines == 0
    assert reasons == {}
    assert records_total == lines
    assert rows_rejected == 0


def test_rejects_keep_line_and_text(con, tmp_path):
    landing = land(tmp_path, "m365", FIXTURES / "m365" / "active_user_detail_bad_rows.csv")

    load_source(con, "m365", landing)

    rejects = con.execute(
        "select source, file_name, line_number, reason, raw_text from raw.rejects "
        "order by line_number"
    ).fetchall()
    assert [row[2] for row in rejects] == [3, 4, 5, 7, 8]
    assert {row[0] for row in rejects} == {"m365"}
    assert {row[1] for row in rejects} == {"m365/active_user_detail_bad_rows.csv"}
    assert "8 fields" in rejects[0][3]
    assert (
        rejects[0][4] == "2024-05-01,user2@example.com,User, Two,False,,MICROSOFT 365 E3,2024-04-29"
    )
    assert "'Maybe'" in rejects[1][3]
    landed = count(con, "select count(*) from raw.m365_active_user_detail")
    records_total = count(con, "select records_total from raw.loaded_files")
    assert landed == 1
    assert landed + len(rejects) == records_total


def test_recorded_counts_match_tables(con, tmp_path):
    landing = land(
        tmp_path,
        "m365",
        FIXTURES / "m365" / "teams_user_activity_user_detail_concealed.csv",
        FIXTURES / "m365" / "Office365ActiveUserDetail_2026-12-01.csv",
    )

    load_source(con, "m365", landing)

    recorded = con.execute(
        "select file_sha256, table_name, rows_landed from raw.loaded_tables order by all"
    ).fetchall()
    assert len(recorded) == 4
    for sha, table, rows_landed in recorded:
        found = count(con, f'select count(*) from raw."{table}" where _file_sha256 = ?', [sha])
        assert found == rows_landed, table
    per_file = con.execute(
        "select f.rows_landed, sum(t.rows_landed) from raw.loaded_files as f "
        "join raw.loaded_tables as t using (file_sha256) group by all"
    ).fetchall()
    assert all(file_total == table_total for file_total, table_total in per_file)


def test_second_load_adds_nothing(con, tmp_path):
    okta = FIXTURES / "okta"
    landing = land(tmp_path, "okta", okta / "users.csv", okta / "system_log_2026-11.ndjson")
    first = load_source(con, "okta", landing)
    before = count(con, "select count(*) from raw.okta_users")

    second = load_source(con, "okta", landing)

    assert {outcome.status for outcome in first.files} == {"loaded"}
    assert {outcome.status for outcome in second.files} == {"skipped"}
    assert before == 4
    assert count(con, "select count(*) from raw.okta_users") == before
    assert count(con, "select count(*) from raw.okta_events") == 4
    assert count(con, "select count(*) from raw.loaded_files") == len(first.files)


def test_renamed_copy_skipped_by_hash(con, tmp_path):
    source = FIXTURES / "hr" / "text_ids_and_na_fte.csv"
    landing = land(tmp_path, "hr", source)
    load_source(con, "hr", landing)
    shutil.copy(source, landing / "hr" / "hr_directory_again.csv")

    summary = load_source(con, "hr", landing)

    statuses = {Path(outcome.file_name).name: outcome.status for outcome in summary.files}
    assert statuses == {"hr_directory_again.csv": "skipped", "text_ids_and_na_fte.csv": "skipped"}
    assert count(con, "select count(*) from raw.hr_directory") == 4
    assert count(con, "select count(distinct file_sha256) from raw.loaded_files") == 1
    assert file_sha256(landing / "hr" / "hr_directory_again.csv") == file_sha256(source)


def test_unreadable_files_fail_alone(con, tmp_path):
    landing = land(tmp_path, "m365", FIXTURES / "m365" / "active_user_detail_deleted.csv")
    (landing / "m365" / "empty.csv").write_text("")
    (landing / "m365" / "mailbox.csv").write_text("Storage Used (Byte),Item Count\n10,2\n")

    summary = load_source(con, "m365", landing)

    failures = {Path(outcome.file_name).name: outcome.message for outcome in summary.failures}
    assert set(failures) == {"empty.csv", "mailbox.csv"}
    assert "empty.csv: the file is empty" in failures["empty.csv"]
    assert "remove it from the m365 folder" in failures["empty.csv"]
    assert "mailbox.csv: not a recognised m365 export" in failures["mailbox.csv"]
    assert "move it out of the m365 folder" in failures["mailbox.csv"]
    assert count(con, "select count(*) from raw.m365_active_user_detail") == 4
    assert count(con, "select count(*) from raw.loaded_files") == 1


def test_failed_insert_leaves_nothing(con):
    ensure_raw_tables(con)
    parsed = ParsedFile(records_total=2)
    parsed.add_row("hr_directory", {"employee_id": "E1", "_line_number": 2})
    parsed.add_row("not_declared", {"value": 1, "_line_number": 3})
    parsed.reject(4, "invalid row", "x")

    with pytest.raises(SourceFileError, match="undeclared table raw.not_declared"):
        _insert_file(
            con,
            source="hr",
            relative_name="hr/broken.csv",
            sha="f" * 64,
            connector="hr",
            parsed=parsed,
            schemas={"hr_directory": {"employee_id": "VARCHAR"}},
        )

    assert count(con, "select count(*) from raw.hr_directory") == 0
    assert count(con, "select count(*) from raw.rejects") == 0
    assert count(con, "select count(*) from raw.loaded_files") == 0
    assert count(con, "select count(*) from raw.loaded_tables") == 0


def test_raw_asset_fails_naming_file(monkeypatch, tmp_path):
    from licpipe.assets.raw import raw_assets
    from licpipe.resources import build_resources

    landing = land(tmp_path, "hr", FIXTURES / "hr" / "lower_case_emails.csv")
    (landing / "hr" / "truncated.csv").write_bytes(b"")
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("LICPIPE_LANDING", str(landing))
    monkeypatch.setenv("LICPIPE_WAREHOUSE", str(warehouse))
    asset = next(a for a in raw_assets if a.node_def.name == "raw_hr")

    result = materialize([asset], resources=build_resources(), raise_on_error=False)

    assert not result.success
    (failure,) = [
        event for event in result.all_node_events if event.event_type_value == "STEP_FAILURE"
    ]
    description = failure.step_failure_data.user_failure_data.description
    assert "1 file(s) in hr could not be read" in description
    assert "hr/truncated.csv" in description
    assert "Export it again, or remove it from the hr folder" in description
    check = duckdb.connect(str(warehouse), read_only=True)
    try:
        statuses = check.execute("select status from raw.hr_directory").fetchall()
    finally:
        check.close()
    assert Counter(status for (status,) in statuses) == Counter({"active": 1, "terminated": 1})
