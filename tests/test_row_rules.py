"""Rows a blocking quality check or a column type would refuse are rejected before insert."""

from __future__ import annotations

from datetime import datetime

from licpipe.connectors import all_schemas, flexlm_log, hr
from licpipe.connectors.base import ParsedFile
from licpipe.row_rules import reject_invalid_rows, row_violation


def test_hr_row_without_id_rejected(tmp_path):
    path = tmp_path / "hr.csv"
    path.write_text("employee_id,email,status\nE1,a@example.com,active\n,b@example.com,active\n")
    parsed = hr.parse_file(path)

    rejected = reject_invalid_rows(parsed, all_schemas())

    assert rejected == 1
    assert [row["employee_id"] for row in parsed.tables["hr_directory"]] == ["E1"]
    (reject,) = parsed.rejects
    assert reject.line_number == 3
    assert reject.reason.startswith("raw.hr_directory column employee_id: is empty")
    assert "suite raw_hr_directory" in reject.reason
    assert '"email": "b@example.com"' in reject.raw_text


def test_flexlm_events_before_2000_rejected(tmp_path):
    path = tmp_path / "debug.log"
    path.write_text(
        ' 9:00:00 (lmgrd) TIMESTAMP 1/1/1999\n 9:01:00 (acmed) OUT: "CAD_PRO" user1@ws-001\n'
    )
    parsed = flexlm_log.parse_file(path)

    rejected = reject_invalid_rows(parsed, all_schemas())

    assert rejected == 1
    assert parsed.tables["flexlm_events"] == []
    assert parsed.tables["flexlm_sessions"] == []
    assert len(parsed.tables["flexlm_server_events"]) == 1
    assert (
        "column event_at: '1999-01-01T09:01:00' is outside 2000-01-01" in parsed.rejects[0].reason
    )


def test_type_and_length_limits():
    schemas = all_schemas()
    long_message = {"message": "m" * 70_000, "_line_number": 4}
    counts = {"user_principal_name": "a@example.com", "report_refresh_date": datetime(2026, 1, 1)}

    too_long = row_violation("flexlm_server_events", schemas["flexlm_server_events"], long_message)

    assert too_long.startswith("raw.flexlm_server_events column message: value is 70,000")
    assert (
        row_violation("m365_active_user_detail", schemas["m365_active_user_detail"], counts) is None
    )


def test_clean_rows_untouched():
    parsed = ParsedFile(records_total=1)
    row = {"employee_id": "E1", "email": "a@example.com", "status": "active", "_line_number": 2}
    parsed.add_row("hr_directory", row)

    assert reject_invalid_rows(parsed, all_schemas()) == 0
    assert parsed.tables["hr_directory"] == [row]
    assert parsed.rejects == []
