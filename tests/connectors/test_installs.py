from datetime import date
from pathlib import Path

import pytest

from licpipe.connectors import installs
from licpipe.connectors.base import SourceFileError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "installs"


def _head(path: Path) -> str:
    return path.read_text()[:4096]


def test_intune_raw_export():
    path = FIXTURES / "AppInvRawData.csv"
    parsed = installs.parse_file(path)
    rows = parsed.tables["installs"]

    assert installs.detect(path, _head(path))
    assert len(rows) == 2
    assert rows[0]["application_name"] == "Adobe Acrobat (64-bit)"
    assert rows[0]["device_id"] == "d-001"
    assert rows[0]["device_name"] == "LAPTOP-001"
    assert rows[0]["email"] == "ana.ruiz@example.com"
    assert rows[0]["user_name"] == "Ana Ruiz"
    assert rows[0]["version"] == "23.006.20320"
    assert rows[0]["short_version"] == "23.006"
    assert rows[0]["installed_on"] is None
    assert rows[1]["publisher"] == "Acme, Inc."
    assert all(row["inventory_source"] == "intune" for row in rows)
    assert [reject.line_number for reject in parsed.rejects] == [4]
    assert "ApplicationName" in parsed.rejects[0].reason
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 3


def test_intune_display_name_headers():
    rows = installs.parse_file(FIXTURES / "discovered_apps_display_names.csv").tables["installs"]

    assert rows[0]["device_name"] == "LAPTOP-001"
    assert rows[0]["application_name"] == "Adobe Acrobat DC"
    assert rows[0]["publisher"] == "Adobe Inc."
    assert rows[0]["platform"] == "macOS"


def test_sccm_empty_names_rejected():
    parsed = installs.parse_file(FIXTURES / "v_GS_ADD_REMOVE_PROGRAMS.csv")
    reasons = {reject.line_number: reject.reason for reject in parsed.rejects}

    assert set(reasons) == {4, 5}
    assert all("DisplayName0" in reason for reason in reasons.values())
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 6


def test_sccm_rows_kept_raw():
    parsed = installs.parse_file(FIXTURES / "v_GS_ADD_REMOVE_PROGRAMS.csv")
    rows = parsed.tables["installs"]
    acme = [row for row in rows if row["application_name"] == "AcmeCAD 2024"]

    assert len(acme) == 2
    assert acme[0]["installed_on"] == date(2026, 1, 12)
    assert acme[0]["device_id"] == "16777220"
    assert acme[0]["device_name"] == "WS-002"
    assert acme[0]["product_code"] == "{11111111-2222-3333-4444-555555555555}"
    notepad = next(row for row in rows if row["application_name"].startswith("Notepad++"))
    assert notepad["installed_on"] is None
    assert parsed.notes["null_coerced"] == 1
    assert all(row["inventory_source"] == "sccm" for row in rows)


def test_sccm_view_prefix_accepted(tmp_path):
    path = tmp_path / "arp.csv"
    path.write_text("arp.ResourceID,arp.DisplayName0,arp.Version0\n1,7-Zip,23.01\n")

    rows = installs.parse_file(path).tables["installs"]

    assert rows[0]["application_name"] == "7-Zip"
    assert rows[0]["device_id"] == "1"


def test_osquery_json_array():
    path = FIXTURES / "osquery_programs.json"
    parsed = installs.parse_file(path, device_name="WS-002")
    rows = parsed.tables["installs"]

    assert installs.detect(path, _head(path))
    assert rows[0]["application_name"] == "AcmeCAD 2024"
    assert rows[0]["install_location"] == "C:\\Program Files\\Acme\\CAD"
    assert rows[0]["product_code"] == "{1111}"
    assert rows[0]["installed_on"] == date(2026, 1, 12)
    assert rows[0]["device_name"] == "WS-002"
    assert rows[0]["inventory_source"] == "osquery"
    assert [reject.line_number for reject in parsed.rejects] == [2]
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 2


def test_osquery_result_log():
    parsed = installs.parse_file(FIXTURES / "osquery_results.log")
    rows = parsed.tables["installs"]

    assert [(row["device_name"], row["application_name"]) for row in rows] == [
        ("WS-009", "AcmeCAD 2024"),
        ("WS-010", "7-Zip 23.01"),
    ]
    assert "removed" in parsed.rejects[0].reason
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 3


def test_osquery_pipe_csv(tmp_path):
    path = tmp_path / "programs.csv"
    path.write_text(
        "name|version|install_location|install_source|language|publisher|uninstall_string|"
        "install_date|identifying_number\n"
        "7-Zip 23.01|23.01|C:\\7-Zip||1033|Igor Pavlov|x|20240105|7-Zip\n"
    )

    rows = installs.parse_file(path).tables["installs"]

    assert rows[0]["application_name"] == "7-Zip 23.01"
    assert rows[0]["installed_on"] == date(2024, 1, 5)


def test_unknown_header_raises(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("Report Refresh Date,User Principal Name\n2026-12-01,a@example.com\n")

    assert not installs.detect(path, _head(path))
    with pytest.raises(SourceFileError, match="unknown inventory header"):
        installs.parse_file(path)
