"""Landing folder names: case-only variants are read, other names are reported."""

from __future__ import annotations

from pathlib import Path

import duckdb

from licpipe.landing_folders import folder_warnings, source_folders
from licpipe.loading import load_source

FIXTURES = Path(__file__).parent / "fixtures"


def make_landing(tmp_path: Path, *folders: str) -> Path:
    landing = tmp_path / "landing"
    for folder in folders:
        (landing / folder).mkdir(parents=True)
    return landing


def test_case_variant_read_as_source(tmp_path):
    landing = make_landing(tmp_path, "HR")
    hr_file = FIXTURES / "hr" / "lower_case_emails.csv"
    (landing / "HR" / hr_file.name).write_bytes(hr_file.read_bytes())
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))

    summary = load_source(con, "hr", landing)

    assert [(outcome.file_name, outcome.status) for outcome in summary.files] == [
        ("HR/lower_case_emails.csv", "loaded")
    ]
    assert con.execute("select count(*) from raw.hr_directory").fetchone() == (2,)
    (warning,) = folder_warnings(landing)
    assert warning.startswith("landing folder HR/ is read as hr/; rename it to hr")


def test_exact_name_read_first(tmp_path):
    landing = make_landing(tmp_path, "Hr", "hr")

    assert [path.name for path in source_folders(landing, "hr")] == ["hr", "Hr"]


def test_misspelt_folder_named(tmp_path):
    landing = make_landing(tmp_path, "entitlement", "notasource", "okta", ".cache")
    (landing / "hr.csv").write_text("employee_id,email\n")

    warnings = folder_warnings(landing)

    assert len(warnings) == 3
    entitlement, stray_file, unknown = warnings
    assert "landing folder entitlement/ is not a source folder" in entitlement
    assert "Did you mean entitlements?" in entitlement
    assert "file hr.csv at the top of the landing folder is not read" in stray_file
    assert unknown.startswith("landing folder notasource/ is not a source folder")
    assert "Did you mean" not in unknown
    assert "Valid folder names: adobe, atlassian, decisions, entitlements" in unknown


def test_valid_landing_has_no_warnings(tmp_path):
    landing = make_landing(tmp_path, "hr", "m365", "flexlm")

    assert folder_warnings(landing) == []
