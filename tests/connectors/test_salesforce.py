"""Tests for the Salesforce Login History and User export connector."""

from datetime import datetime
from pathlib import Path

import pytest

from licpipe.connectors import salesforce
from licpipe.connectors.base import SourceFileError, read_text

FIXTURES = Path(__file__).parent.parent / "fixtures" / "salesforce"


def test_login_history_download():
    parsed = salesforce.parse_file(FIXTURES / "LoginHistory.csv")
    rows = parsed.tables[salesforce.LOGIN_HISTORY]

    assert rows[0]["username"] == "ana.lima@acme.example.acme"
    assert rows[0]["login_time"] == datetime(2026, 12, 1, 9, 15)
    assert rows[1]["login_time"] == datetime(2026, 12, 1, 12, 5)
    assert rows[2]["login_time"] == datetime(2026, 12, 1, 0, 0)
    assert rows[3]["login_time"] == datetime(2026, 12, 2, 14, 30)
    assert rows[0]["location"] == "Lisbon, Portugal"
    assert rows[1]["status"] == "Invalid Password"
    assert rows[0]["user_id"] is None
    assert [row["is_internal_user"] for row in rows] == [False, False, True, False]
    assert parsed.notes["internal_user_rows"] == 1


def test_login_history_rejects():
    parsed = salesforce.parse_file(FIXTURES / "LoginHistory.csv")
    reasons = {reject.line_number: reject.reason for reject in parsed.rejects}

    assert "'Login Time'" in reasons[6]
    assert "13/01/2026" in reasons[6]
    assert "11 fields" in reasons[7]


def test_login_time_zone_option():
    parsed = salesforce.parse_file(FIXTURES / "LoginHistory.csv", time_zone="America/New_York")
    rows = parsed.tables[salesforce.LOGIN_HISTORY]

    assert rows[0]["login_time"] == datetime(2026, 12, 1, 14, 15)
    # A time with an explicit offset is already UTC and is not shifted.
    assert rows[3]["login_time"] == datetime(2026, 12, 2, 14, 30)


def test_unknown_time_zone_raises():
    with pytest.raises(ValueError, match="IANA"):
        salesforce.parse_file(FIXTURES / "LoginHistory.csv", time_zone="Lisbon")


def test_api_export_ids_normalised():
    parsed = salesforce.parse_file(FIXTURES / "LoginHistory_api.csv")
    short_id, long_id = parsed.tables[salesforce.LOGIN_HISTORY]

    assert short_id["user_id"] == "0055e000001AbCd"
    assert long_id["user_id"] == "0055e000001AbCdAAK"
    assert short_id["user_id_18"] == long_id["user_id_18"] == "0055e000001AbCdAAK"
    assert short_id["username"] is None
    assert long_id["platform"] == "iOS"
    assert long_id["login_time"] == datetime(2026, 12, 1, 10, 15)


def test_users_export():
    parsed = salesforce.parse_file(FIXTURES / "User.csv")
    rows = {row["username"].split("@")[0]: row for row in parsed.tables[salesforce.USERS]}

    assert rows["ana.lima"]["user_id_18"] == "0055e000001AbCdAAK"
    assert rows["ana.lima"]["last_login_at"] == datetime(2026, 12, 14, 9, 15)
    assert rows["ana.lima"]["never_logged_in"] is False
    assert rows["ana.lima"]["user_license"] == "Salesforce"
    assert rows["ana.lima"]["full_name"] == "Ana Lima"
    assert rows["ben.ode"]["is_active"] is False
    assert rows["ben.ode"]["user_id_18"] == "0055e000001AbCeAAK"
    assert rows["fin.lee"]["last_login_at"] is None
    assert rows["fin.lee"]["never_logged_in"] is True
    assert rows["033000000000002"]["is_internal_user"] is True
    assert rows["fin.lee"]["is_internal_user"] is False


def test_users_rejects():
    parsed = salesforce.parse_file(FIXTURES / "User.csv")
    reasons = {reject.line_number: reject.reason for reject in parsed.rejects}

    assert set(reasons) == {7}
    assert "'IsActive'" in reasons[7]


def test_case_changed_id_kept_and_counted():
    parsed = salesforce.parse_file(FIXTURES / "User.csv")
    rows = {row["username"].split("@")[0]: row for row in parsed.tables[salesforce.USERS]}

    assert rows["gil.sa"]["user_id_18"] == "0055e000001abcdAAK"
    assert parsed.notes["id_checksum_mismatches"] == 1


def test_malformed_id_rejected(tmp_path):
    path = tmp_path / "User.csv"
    path.write_text(
        "Id,Username,IsActive\n0055e000001AbCd,a@acme.example.acme,true\n005-bad,b@x.acme,true\n"
    )
    parsed = salesforce.parse_file(path)

    (reject,) = parsed.rejects
    assert reject.line_number == 3
    assert "'Id'" in reject.reason
    assert "'005-bad'" in reject.reason


def test_users_api_header_names(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text(
        "Id,Username,IsActive,Profile.Name,Profile.UserLicense.Name,LastLoginDate\n"
        "0055e000001AbCd,a@acme.example.acme,1,System Administrator,Salesforce,"
        "2026-12-01T08:00:00.000+0000\n"
    )
    (row,) = salesforce.parse_file(path).tables[salesforce.USERS]

    assert row["profile"] == "System Administrator"
    assert row["user_license"] == "Salesforce"
    assert row["is_active"] is True
    assert row["last_login_at"] == datetime(2026, 12, 1, 8, 0)


@pytest.mark.parametrize(
    ("record_id", "expected"),
    [
        ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
        ("001A0000006Vm9rIAC", "001A0000006Vm9rIAC"),
        ("00500000000abcd", "00500000000abcdAAA"),
        ("ZZZZZZZZZZZZZZZ", "ZZZZZZZZZZZZZZZ555"),
    ],
)
def test_to_18_char_id(record_id, expected):
    assert salesforce.to_18_char_id(record_id) == expected


@pytest.mark.parametrize("record_id", ["005", "001A0000006Vm9rIAD", "001A0000006Vm9r-AC"])
def test_to_18_char_id_invalid(record_id):
    with pytest.raises(ValueError, match=record_id[:3]):
        salesforce.to_18_char_id(record_id)


@pytest.mark.parametrize("name", ["LoginHistory.csv", "LoginHistory_api.csv", "User.csv"])
def test_landed_plus_rejected_is_total(name):
    parsed = salesforce.parse_file(FIXTURES / name)
    landed = len(parsed.tables.get(parsed.notes["primary_table"], []))

    assert landed + len(parsed.rejects) == parsed.records_total
    assert parsed.records_total > 0


@pytest.mark.parametrize("name", ["LoginHistory.csv", "LoginHistory_api.csv", "User.csv"])
def test_rows_match_schema(name):
    parsed = salesforce.parse_file(FIXTURES / name)

    assert salesforce.detect(FIXTURES / name, read_text(FIXTURES / name)[:4096])
    for table, rows in parsed.tables.items():
        for row in rows:
            assert set(row) == set(salesforce.SCHEMAS[table]) | {"_line_number"}


def test_unknown_header_raises(tmp_path):
    path = tmp_path / "Account.csv"
    path.write_text("Id,Name,Industry\n0015e000001AbCd,Acme,Retail\n")

    assert not salesforce.detect(path, read_text(path))
    with pytest.raises(SourceFileError, match="Account.csv.*neither a Login History"):
        salesforce.parse_file(path)
