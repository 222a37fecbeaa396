from pathlib import Path

import pytest

from licpipe.connectors import adobe
from licpipe.connectors.base import SourceFileError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adobe"


def test_emails_kept_as_exported():
    parsed = adobe.parse_file(FIXTURES / "mixed_case_emails.csv")
    rows = parsed.tables["adobe_users"]

    assert [row["email"] for row in rows] == ["JANE.DOE@EXAMPLE.COM", "Sam.Lee@Example.com "]
    assert [row["email_normalised"] for row in rows] == [
        "jane.doe@example.com",
        "sam.lee@example.com",
    ]
    assert rows[1]["username"] == "Sam.Lee@Example.com "
    assert rows[0]["product_configurations"] == "Creative Cloud All Apps"
    assert rows[0]["domain"] is None
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 2


def test_semicolon_export_parsed():
    path = FIXTURES / "semicolon_export.csv"
    parsed = adobe.parse_file(path)
    rows = parsed.tables["adobe_users"]

    assert adobe.detect(path, path.read_text()[:4096])
    assert len(rows) == 2
    assert rows[0]["user_id"] == "AB12@AdobeID"
    assert rows[0]["product_configurations"] == "Creative Cloud All Apps;Acrobat Pro"
    assert rows[0]["status"] == "active"
    assert rows[0]["user_groups"] == "Design"
    assert rows[1]["email"] == "Ben.Okafor@Example.com "
    assert rows[1]["email_normalised"] == "ben.okafor@example.com"
    assert rows[1]["admin_roles"] == "System"
    assert rows[1]["_line_number"] == 3


def test_semicolon_bad_rows_rejected():
    parsed = adobe.parse_file(FIXTURES / "semicolon_export.csv")
    reasons = {reject.line_number: reject.reason for reject in parsed.rejects}

    assert set(reasons) == {4, 5}
    assert "Email and Username are both empty" in reasons[4]
    assert "3 fields" in reasons[5]
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 4


def test_missing_email_column_raises(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("Identity Type,Username,First Name\nFederated ID,ana,Ana\n")

    with pytest.raises(SourceFileError, match="email"):
        adobe.parse_file(path)
    assert not adobe.detect(path, path.read_text())
