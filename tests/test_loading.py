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
from licpipe.connectors.text_lines import MAX_LINE_CHARS
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


# One fixture per CSV connector: (landing folder, fixture path under tests/fixtures).
CSV_EXPORTS = [
    ("adobe", "adobe/mixed_case_emails.csv"),
    ("entitlements", "entitlements/entitlements.csv"),
    ("entra", "entra/users.csv"),
    ("google", "saas/google_users.csv"),
    ("hr", "hr/lower_case_emails.csv"),
    ("installs", "installs/AppInvRawData.csv"),
    ("m365", "m365/Office365ActiveUserDetail_2026-12-01.csv"),
    ("okta", "okta/users.csv"),
    ("salesforce", "salesforce/LoginHistory.csv"),
    ("slack", "slack/members.csv"),
]


def data_lines(path: Path) -> int:
    """Count the non-blank lines after the header."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    return sum(1 for line in lines[1:] if line.strip())


@pytest.mark.parametrize(("source", "fixture"), CSV_EXPORTS)
def test_stray_quote_loses_no_line(con, tmp_path, source, fixture):
    original = FIXTURES / fixture
    lines = original.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    broken = tmp_path / original.name
    broken.write_text("".join([lines[0], lines[1], '"stray\n', *lines[2:]]), encoding="utf-8")
    landing = land(tmp_path, source, broken)

    summary = load_source(con, source, landing)

    (outcome,) = summary.files
    assert outcome.status == "loaded", outcome.message
    sha, records_total, rejected = con.execute(
        "select file_sha256, records_total, rows_rejected from raw.loaded_files"
    ).fetchone()
    landed_lines: set[int] = set()
    for (table,) in con.execute("select table_name from raw.loaded_tables").fetchall():
        rows = con.execute(
            f'select _line_number from raw."{table}" where _file_sha256 = ?', [sha]
        ).fetchall()
        landed_lines.update(line for (line,) in rows)
    assert records_total == data_lines(broken)
    assert len(landed_lines) + rejected == records_total
    reasons = dict(con.execute("select line_number, reason from raw.rejects").fetchall())
    assert "double quote on line 3" in reasons[3]


def test_long_flexlm_line_capped(con, tmp_path):
    path = tmp_path / "debug.log"
    with path.open("w") as handle:
        handle.write("10:00:00 (lmgrd) TIMESTAMP 1/2/2026\n10:01:00 (acmed) ")
        for _ in range(4):
            handle.write("y" * 1_000_000)
        handle.write('\n10:03:00 (acmed) OUT: "CAD_PRO" user1@ws-001\n')
    landing = land(tmp_path, "flexlm", path)

    load_source(con, "flexlm", landing)

    (line_number, reason, stored) = con.execute(
        "select line_number, reason, length(raw_text) from raw.rejects"
    ).fetchone()
    assert line_number == 2
    assert "4,000,017 characters long" in reason
    assert stored == MAX_LINE_CHARS
    longest = count(con, "select max(length(message)) from raw.flexlm_server_events")
    assert longest < 100
    assert count(con, "select count(*) from raw.flexlm_events") == 1


def test_long_reject_text_capped(con):
    ensure_raw_tables(con)
    parsed = ParsedFile(records_total=1)
    parsed.reject(1, "invalid JSON", "{" + "x" * MAX_LINE_CHARS)

    _insert_file(
        con,
        source="okta",
        relative_name="okta/log.ndjson",
        sha="e" * 64,
        connector="okta",
        parsed=parsed,
        schemas={},
    )

    reason, stored = con.execute("select reason, length(raw_text) from raw.rejects").fetchone()
    assert stored == MAX_LINE_CHARS
    assert reason.startswith("invalid JSON")
    assert f"first {MAX_LINE_CHARS:,} of {MAX_LINE_CHARS + 1:,} characters" in reason


def test_out_of_range_seats_rejected(con, tmp_path):
    landing = tmp_path / "landing"
    folder = landing / "entitlements"
    folder.mkdir(parents=True)
    header = "vendor,application,sku,license_model,seats,unit_price,currency,renewal_date\n"
    (folder / "aa.csv").write_text(
        header
        + "Acme,AcmeCAD,CAD_PRO,concurrent,99999999999,100,EUR,2027-01-01\n"
        + "Acme,AcmeCAD,CAD_VIEW,concurrent,20000000,100,EUR,2027-01-01\n"
        + "Acme,AcmeCAD,CAD_LITE,concurrent,5,100,EUR,2027-01-01\n"
    )
    (folder / "zz_good.csv").write_text(
        header + "Acme,AcmeCAD,CAD_OK,concurrent,7,100,EUR,2027-01-01\n"
    )

    summary = load_source(con, "entitlements", landing)

    assert [outcome.status for outcome in summary.files] == ["loaded", "loaded"]
    skus = con.execute("select sku from raw.entitlements order by sku").fetchall()
    assert skus == [("CAD_LITE",), ("CAD_OK",)]
    reasons = dict(con.execute("select line_number, reason from raw.rejects").fetchall())
    assert set(reasons) == {2, 3}
    assert "column seats: 99999999999 is outside the INTEGER range" in reasons[2]
    assert "column seats: 20000000 is outside 0 to 10000000" in reasons[3]
    assert "raw_entitlements" in reasons[3]


def test_unexpected_error_fails_one_file(con, tmp_path):
    landing = land(tmp_path, "hr", FIXTURES / "hr" / "lower_case_emails.csv")
    missing = landing / "hr" / "removed_after_listing.csv"
    good = landing / "hr" / "lower_case_emails.csv"

    summary = load_source(con, "hr", landing, files=[missing, good])

    statuses = {Path(outcome.file_name).name: outcome.status for outcome in summary.files}
    assert statuses == {"removed_after_listing.csv": "failed", "lower_case_emails.csv": "loaded"}
    (failure,) = summary.failures
    assert "removed_after_listing.csv: failed to load (FileNotFoundError" in failure.message
    assert "fix or remove it, then run again" in failure.message
    assert count(con, "select count(*) from raw.hr_directory") == 2


def test_flexlm_rules_reject_whole_line(con, tmp_path):
    path = tmp_path / "debug.log"
    path.write_text(
        " 9:00:00 (lmgrd) TIMESTAMP 1/2/2026\n"
        '10:00:00 (acmed) OUT: "CAD_PRO" user1@ws-001 (20000 licenses)\n'
        '10:01:00 (acmed) OUT: "CAD_PRO" user2@ws-002\n'
    )
    landing = land(tmp_path, "flexlm", path)

    load_source(con, "flexlm", landing)

    users = con.execute("select user_name from raw.flexlm_events").fetchall()
    assert users == [("user2",)]
    sessions = con.execute("select user_name from raw.flexlm_sessions").fetchall()
    assert sessions == [("user2",)]
    (line_number, reason) = con.execute("select line_number, reason from raw.rejects").fetchone()
    assert line_number == 2
    assert "raw.flexlm_events column seats: 20000 is outside 1 to 10000" in reason
    records_total, landed, rejected = con.execute(
        "select records_total, rows_landed, rows_rejected from raw.loaded_files"
    ).fetchone()
    assert (records_total, landed, rejected) == (3, 3, 1)


def test_raw_asset_reports_unknown_folders(monkeypatch, tmp_path):
    from licpipe.assets.raw import raw_assets
    from licpipe.resources import build_resources

    landing = land(tmp_path, "hr", FIXTURES / "hr" / "lower_case_emails.csv")
    (landing / "entitlement").mkdir()
    monkeypatch.setenv("LICPIPE_LANDING", str(landing))
    monkeypatch.setenv("LICPIPE_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    asset = next(a for a in raw_assets if a.node_def.name == "raw_hr")

    result = materialize([asset], resources=build_resources(), raise_on_error=False)

    (materialization,) = result.asset_materializations_for_node("raw_hr")
    (warning,) = materialization.metadata["landing_folder_warnings"].value
    assert "landing folder entitlement/ is not a source folder" in warning
    assert "Did you mean entitlements?" in warning


def test_raw_asset_names_every_failed_file(monkeypatch, tmp_path):
    from licpipe.assets.raw import raw_assets
    from licpipe.resources import build_resources

    landing = land(tmp_path, "hr", FIXTURES / "hr" / "lower_case_emails.csv")
    (landing / "hr" / "a_empty.csv").write_bytes(b"")
    (landing / "hr" / "b_binary.csv").write_bytes(b"\x00\x01 not an export")
    monkeypatch.setenv("LICPIPE_LANDING", str(landing))
    monkeypatch.setenv("LICPIPE_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    asset = next(a for a in raw_assets if a.node_def.name == "raw_hr")

    result = materialize([asset], resources=build_resources(), raise_on_error=False)

    (failure,) = [
        event for event in result.all_node_events if event.event_type_value == "STEP_FAILURE"
    ]
    description = failure.step_failure_data.user_failure_data.description
    assert "2 file(s) in hr could not be read" in description
    assert "hr/a_empty.csv" in description
    assert "hr/b_binary.csv" in description
    check = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        assert check.execute("select count(*) from raw.hr_directory").fetchone() == (2,)
    finally:
        check.close()
