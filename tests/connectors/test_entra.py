"""Tests for the Entra ID sign-in download and user list connector."""

from datetime import datetime
from pathlib import Path

import pytest

from licpipe.connectors import entra
from licpipe.connectors.base import SourceFileError, read_text

FIXTURES = Path(__file__).parent.parent / "fixtures" / "entra"
INTERACTIVE = "InteractiveSignIns_2025-03-12_2025-03-13.csv"
LEGACY = "SignIns_legacy_locale.csv"


def test_portal_header_quirks():
    header = read_text(FIXTURES / INTERACTIVE).split("\n", 1)[0]
    assert header.count("Incoming token type") == 2
    assert "Application ID ," in header
    assert "Autonomous system  number" in header

    parsed = entra.parse_file(FIXTURES / INTERACTIVE)
    ana, ben = parsed.tables[entra.SIGNINS]

    assert ana["signed_in_at"] == datetime(2025, 3, 12, 7, 22, 1)
    assert ana["application_id"] == "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
    assert ana["resource_id"] == "9e8d7c6b-5a49-3827-1605-f4e3d2c1b0a9"
    assert ana["autonomous_system_number"] == "64500"
    assert ana["user_principal_name"] == "ana.lima@acme.example"
    assert ana["user_display_name"] == "Ana Lima"
    assert ana["location"] == "Lisbon, Lisboa, PT"
    assert ana["sign_in_type"] == "interactive"
    assert ben["signed_in_at"] == datetime(2025, 3, 12, 9, 5, 44, 123000)
    assert ben["sign_in_error_code"] == "50126"


def test_repeated_header_first_non_empty():
    ana, ben = entra.parse_file(FIXTURES / INTERACTIVE).tables[entra.SIGNINS]

    # The first `Incoming token type` is empty for ana, so the second one is used.
    assert ana["incoming_token_type"] == "primaryRefreshToken"
    assert ben["incoming_token_type"] == "none"


def test_interactive_rejects():
    parsed = entra.parse_file(FIXTURES / INTERACTIVE)
    reasons = {reject.line_number: reject.reason for reject in parsed.rejects}

    assert "ambiguous date '12/03/2025 07:22'" in reasons[4]
    assert "'Date (UTC)'" in reasons[4]
    assert "3 fields" in reasons[5]


def test_legacy_ambiguous_dates_rejected():
    parsed = entra.parse_file(FIXTURES / LEGACY)
    rows = {row["user_principal_name"]: row for row in parsed.tables[entra.SIGNINS]}
    reasons = {reject.line_number: reject.reason for reject in parsed.rejects}

    assert "date_order='us'" in reasons[2]
    assert "'CreatedDateTime'" in reasons[2]
    assert "13/13/2025" in reasons[6]
    # Day above 12, month above 12 and day equal to month are read without the option.
    assert rows["ben.ode@acme.example"]["signed_in_at"] == datetime(2025, 12, 25, 23, 5)
    assert rows["cy.park@acme.example"]["signed_in_at"] == datetime(2025, 12, 25, 0, 30)
    assert rows["dee.ng@acme.example"]["signed_in_at"] == datetime(2025, 4, 4, 13, 0)
    assert rows["ben.ode@acme.example"]["location"] == "Porto, PT"
    assert rows["ben.ode@acme.example"]["application"] == "Adobe Creative Cloud"
    assert rows["cy.park@acme.example"]["location"] is None


@pytest.mark.parametrize(
    ("date_order", "expected"),
    [("us", datetime(2025, 3, 12, 7, 22, 1)), ("day_first", datetime(2025, 12, 3, 7, 22, 1))],
)
def test_legacy_date_order_option(date_order, expected):
    parsed = entra.parse_file(FIXTURES / LEGACY, date_order=date_order)
    rows = {row["user_principal_name"]: row for row in parsed.tables[entra.SIGNINS]}

    assert rows["ana.lima@acme.example"]["signed_in_at"] == expected


def test_day_first_rejects_us_only_date():
    parsed = entra.parse_file(FIXTURES / LEGACY, date_order="day_first")
    reasons = {reject.line_number: reject.reason for reject in parsed.rejects}

    assert "12/25/2025" in reasons[4]


def test_unknown_date_order_raises():
    with pytest.raises(ValueError, match="date_order"):
        entra.parse_file(FIXTURES / LEGACY, date_order="iso")


def test_users_last_activity_field():
    parsed = entra.parse_file(FIXTURES / "users.csv")
    rows = {row["user_principal_name"].split("@")[0]: row for row in parsed.tables[entra.USERS]}

    assert rows["ana.lima"]["last_activity_at"] == datetime(2026, 12, 14, 22, 10)
    assert rows["ana.lima"]["last_activity_field"] == "lastSuccessfulSignIn"
    assert rows["ben.ode"]["last_activity_at"] == datetime(2026, 10, 1, 3, 0)
    assert rows["ben.ode"]["last_activity_field"] == "lastNonInteractiveSignIn"
    assert rows["ben.ode"]["account_enabled"] is False
    # A later failed interactive attempt does not count as activity.
    assert rows["guest_x#EXT#"]["last_sign_in_at"] == datetime(2026, 11, 20, 10, 0)
    assert rows["guest_x#EXT#"]["last_activity_at"] == datetime(2026, 11, 2, 10, 0)
    assert rows["cy.park"]["last_activity_at"] is None
    assert rows["cy.park"]["last_activity_field"] is None
    assert rows["cy.park"]["never_signed_in"] is True
    assert rows["ana.lima"]["never_signed_in"] is False
    (reject,) = parsed.rejects
    assert reject.line_number == 6
    assert "'accountEnabled'" in reject.reason


def test_users_interactive_only_columns(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text(
        "userPrincipalName,lastSignInDateTime,lastNonInteractiveSignInDateTime\n"
        "a@acme.example,2026-12-01T10:00:00Z,2026-11-30T10:00:00Z\n"
    )
    (row,) = entra.parse_file(path).tables[entra.USERS]

    assert row["last_activity_at"] == datetime(2026, 12, 1, 10, 0)
    assert row["last_activity_field"] == "lastSignIn"


@pytest.mark.parametrize("name", [INTERACTIVE, LEGACY, "users.csv"])
def test_landed_plus_rejected_is_total(name):
    parsed = entra.parse_file(FIXTURES / name)
    landed = len(parsed.tables.get(parsed.notes["primary_table"], []))

    assert landed + len(parsed.rejects) == parsed.records_total
    assert parsed.records_total > 0


@pytest.mark.parametrize("name", [INTERACTIVE, LEGACY, "users.csv"])
def test_rows_match_schema(name):
    parsed = entra.parse_file(FIXTURES / name)

    assert entra.detect(FIXTURES / name, read_text(FIXTURES / name)[:4096])
    for table, rows in parsed.tables.items():
        for row in rows:
            assert set(row) == set(entra.SCHEMAS[table]) | {"_line_number"}


def test_unknown_header_raises(tmp_path):
    path = tmp_path / "audit.csv"
    path.write_text("Activity,Target\nAdd user,a@acme.example\n")

    with pytest.raises(SourceFileError, match="audit.csv.*neither an Entra sign-in"):
        entra.parse_file(path)


def test_parse_locale_datetime_pm_and_midnight():
    assert entra.parse_locale_datetime("1/20/2025 12:05 AM", None) == datetime(2025, 1, 20, 0, 5)
    assert entra.parse_locale_datetime("20/1/2025 12:05 PM", None) == datetime(2025, 1, 20, 12, 5)
    with pytest.raises(ValueError, match="hour 13"):
        entra.parse_locale_datetime("1/20/2025 13:05 PM", None)
