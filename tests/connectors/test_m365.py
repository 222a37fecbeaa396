"""Tests for the Microsoft 365 usage-report connector on real and hand-written report files."""

from datetime import date
from pathlib import Path

import pytest

from licpipe.connectors import m365
from licpipe.connectors.base import SourceFileError, read_text

FIXTURES = Path(__file__).parent.parent / "fixtures" / "m365"


def parse(name: str, **options):
    return m365.parse_file(FIXTURES / name, **options)


def test_teams_real_capture_concealed():
    parsed = parse("teams_user_activity_user_detail_concealed.csv")
    (row,) = parsed.tables[m365.TEAMS_USER_ACTIVITY]

    assert row["is_concealed"] is True
    assert row["user_id"] == "00000000-0000-0000-0000-000000000000"
    assert parsed.notes["concealed_rows"] == 1
    assert parsed.notes["identity_rows"] == 1
    assert "displayConcealedNames" in parsed.notes["concealed_message"]
    assert row["report_period"] == 7
    assert row["has_other_action"] is False
    assert row["is_licensed"] is True
    assert row["post_messages"] == 2
    assert row["reply_messages"] == 3
    assert row["audio_duration_seconds"] == 0.0
    assert row["report_refresh_date"] == date(2022, 10, 28)
    assert row["last_activity_date"] == date(2022, 10, 26)
    assert row["user_principal_name"] == "6E55A185B405B6F2A6804BB7897C8AAB"
    assert row["tenant_display_name"] == "CONTOSO"
    assert row["team_chat_message_count"] == 5
    assert row["is_deleted"] is False
    assert row["deleted_date"] is None
    assert parsed.rejects == []


def test_teams_products_split_on_plus():
    parsed = parse("teams_user_activity_user_detail_concealed.csv")
    products = [row["product"] for row in parsed.tables[m365.ASSIGNED_PRODUCTS]]

    assert products == [
        "MICROSOFT 365 E5 DEVELOPER (WITHOUT WINDOWS AND AUDIO CONFERENCING)",
        "MICROSOFT POWER AUTOMATE FREE",
    ]
    (row,) = parsed.tables[m365.TEAMS_USER_ACTIVITY]
    assert row["assigned_products"] == "+".join(products)
    assert all(product_row["is_concealed"] for product_row in parsed.tables[m365.ASSIGNED_PRODUCTS])


def test_teams_docs_order_matches_real_order():
    real = parse("teams_user_activity_user_detail_concealed.csv")
    docs = parse("teams_user_activity_docs_order.csv")

    assert read_text(FIXTURES / "teams_user_activity_docs_order.csv").startswith("Report")
    assert (
        (FIXTURES / "teams_user_activity_docs_order.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    )
    assert docs.tables[m365.TEAMS_USER_ACTIVITY] == real.tables[m365.TEAMS_USER_ACTIVITY]
    assert docs.tables[m365.ASSIGNED_PRODUCTS] == real.tables[m365.ASSIGNED_PRODUCTS]


def test_teams_durations_in_seconds():
    parsed = parse("teams_user_activity_durations.csv")
    rows = {row["user_principal_name"]: row for row in parsed.tables[m365.TEAMS_USER_ACTIVITY]}

    assert rows["ana@example.com"]["audio_duration_seconds"] == 3723
    assert rows["ana@example.com"]["video_duration_seconds"] == 45
    # With the In Seconds columns empty, the ISO-8601 durations are used.
    assert rows["ben@example.com"]["audio_duration_seconds"] == 600
    assert rows["ben@example.com"]["video_duration_seconds"] == 86402
    assert rows["ana@example.com"]["is_concealed"] is False
    (reject,) = parsed.rejects
    assert reject.line_number == 4
    assert "'Audio Duration'" in reject.reason
    assert "300" in reject.reason


def test_activations_real_capture():
    parsed = parse("office365_activations_user_detail_concealed.csv")
    (row,) = parsed.tables[m365.ACTIVATIONS_USER_DETAIL]

    assert row["product_type"] == "MICROSOFT 365 APPS FOR ENTERPRISE"
    assert row["last_activated_date"] == date(2021, 1, 10)
    assert row["windows"] == 1
    assert row["activated_on_shared_computer"] is False
    assert row["is_concealed"] is True
    assert parsed.notes["concealed_rows"] == parsed.notes["identity_rows"] == 1
    assert row["report_refresh_date"] == date(2022, 10, 25)
    assert row["display_name"] == "4291DA7C39EE3263E97336B42734A667"
    assert (row["mac"], row["windows_10_mobile"], row["ios"], row["android"]) == (0, 0, 0, 0)
    assert parsed.rejects == []


@pytest.mark.parametrize(
    "refresh_date",
    ["2024-05-01", "2024-05-01T00:00:00Z", "2024-05-01 06:30:00", "2024-05-01T00:00:00+02:00"],
)
def test_refresh_date_or_timestamp(tmp_path, refresh_date):
    path = tmp_path / "Office365ActiveUserDetail_D7.csv"
    path.write_text(
        "Report Refresh Date,User Principal Name,Has Exchange License,Report Period\n"
        f"{refresh_date},ana@example.com,True,7\n"
    )

    parsed = m365.parse_file(path)

    (row,) = parsed.tables[m365.ACTIVE_USER_DETAIL]
    assert row["report_refresh_date"] == date(2024, 5, 1)
    assert row["report_period"] == 7
    assert parsed.rejects == []


def test_mixed_concealed_report_counts():
    parsed = parse("active_user_detail_concealed_mixed.csv")
    rows = parsed.tables[m365.ACTIVE_USER_DETAIL]

    assert [row["is_concealed"] for row in rows] == [True, True, False]
    assert parsed.notes["concealed_rows"] == 2
    assert parsed.notes["identity_rows"] == 3
    message = parsed.notes["concealed_message"]
    assert "2 of 3" in message
    assert "Display concealed user, group, and site names in all reports" in message
    assert "Settings > Org settings > Services > Reports" in message
    assert rows[1]["user_principal_name"] == "(Unknown)"
    assert rows[1]["display_name"] is None


def test_real_names_have_no_message():
    parsed = parse("active_user_detail_deleted.csv")

    assert parsed.notes["concealed_rows"] == 0
    assert "concealed_message" not in parsed.notes


def test_deleted_users_and_blank_dates():
    parsed = parse("active_user_detail_deleted.csv")
    rows = {row["user_principal_name"]: row for row in parsed.tables[m365.ACTIVE_USER_DETAIL]}

    assert all(
        row["deleted_date"] is None for name, row in rows.items() if name != "user3@example.com"
    )
    assert rows["user3@example.com"]["deleted_date"] == date(2024, 4, 2)
    assert rows["user2@example.com"]["is_deleted"] is True
    assert rows["user2@example.com"]["assigned_products"] == "MICROSOFT 365 E3"
    assert rows["user4@example.com"]["is_deleted"] is True
    assert rows["user4@example.com"]["exchange_last_activity_date"] == date(2024, 4, 30)
    assert rows["user3@example.com"]["assigned_products"] is None
    products = {
        (row["user_principal_name"], row["product"])
        for row in parsed.tables[m365.ASSIGNED_PRODUCTS]
    }
    assert ("user2@example.com", "MICROSOFT 365 E3") in products
    assert ("user4@example.com", "MICROSOFT 365 E3") in products
    assert not any(name == "user3@example.com" for name, _ in products)
    # Columns the export leaves out load as NULL.
    assert rows["user1@example.com"]["has_teams_license"] is None


def test_daily_pull_full_header():
    parsed = parse("Office365ActiveUserDetail_2026-12-01.csv")
    rows = {row["user_principal_name"]: row for row in parsed.tables[m365.ACTIVE_USER_DETAIL]}
    ana = rows["ana.lima@acme.example"]

    assert set(ana) == set(m365.SCHEMAS[m365.ACTIVE_USER_DETAIL]) | {"_line_number"}
    assert ana["report_refresh_date"] == date(2026, 12, 1)
    assert ana["report_date"] == date(2026, 12, 1)
    assert ana["report_period"] is None
    assert ana["has_skype_for_business_license"] is False
    assert ana["onedrive_last_activity_date"] == date(2026, 11, 28)
    assert ana["sharepoint_last_activity_date"] is None
    assert ana["teams_license_assign_date"] == date(2025, 1, 6)
    assert ana["_line_number"] == 2
    assert rows["old.user@acme.example"]["deleted_date"] == date(2026, 10, 15)
    products = [row["product"] for row in parsed.tables[m365.ASSIGNED_PRODUCTS]]
    assert products.count("MICROSOFT 365 E3") == 2
    assert "MICROSOFT POWER AUTOMATE FREE" in products


def test_report_date_option_overrides_name():
    parsed = parse("Office365ActiveUserDetail_2026-12-01.csv", report_date=date(2026, 11, 30))

    assert {row["report_date"] for row in parsed.tables[m365.ACTIVE_USER_DETAIL]} == {
        date(2026, 11, 30)
    }


def test_active_user_counts():
    parsed = parse("Office365ActiveUserCounts_D180.csv")
    rows = parsed.tables[m365.ACTIVE_USER_COUNTS]

    assert len(rows) == 3
    assert rows[0]["report_date"] == date(2026, 12, 14)
    assert rows[0]["report_period"] == 180
    assert rows[0]["office_365"] == 480
    assert rows[0]["skype_for_business"] == 0
    assert rows[2]["office_365"] == 1002
    assert "identity_rows" not in parsed.notes


def test_app_user_detail_yes_no():
    parsed = parse("m365_apps_user_detail_D30.csv")
    rows = {row["user_principal_name"]: row for row in parsed.tables[m365.APP_USER_DETAIL]}

    assert rows["ana.lima@acme.example"]["outlook_windows"] is True
    assert rows["ana.lima@acme.example"]["powerpoint_windows"] is False
    assert rows["ana.lima@acme.example"]["teams_mobile"] is True
    assert rows["ben.ode@acme.example"]["last_activation_date"] is None
    assert rows["ben.ode@acme.example"]["outlook_web"] is True
    assert rows["ben.ode@acme.example"]["report_period"] == 30


def test_bad_rows_rejected_with_line():
    parsed = parse("active_user_detail_bad_rows.csv")
    reasons = {reject.line_number: reject.reason for reject in parsed.rejects}

    assert [row["_line_number"] for row in parsed.tables[m365.ACTIVE_USER_DETAIL]] == [2]
    assert "8 fields" in reasons[3]
    assert "header has 7" in reasons[3]
    assert "'Is Deleted'" in reasons[4]
    assert "'Maybe'" in reasons[4]
    assert "'Exchange Last Activity Date'" in reasons[5]
    assert "'User Principal Name' is empty" in reasons[7]
    assert "6 fields" in reasons[8]
    assert parsed.rejects[0].raw_text.startswith("2024-05-01,user2@example.com")


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.glob("*.csv")))
def test_landed_plus_rejected_is_total(name):
    parsed = parse(name)
    primary = parsed.tables.get(parsed.notes["primary_table"], [])

    assert len(primary) + len(parsed.rejects) == parsed.records_total
    assert parsed.records_total > 0


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.glob("*.csv")))
def test_detect_accepts_fixtures(name):
    path = FIXTURES / name

    assert m365.detect(path, read_text(path)[:4096])


def test_rows_match_declared_schema():
    for path in FIXTURES.glob("*.csv"):
        parsed = m365.parse_file(path)
        for table, rows in parsed.tables.items():
            for row in rows:
                assert set(row) == set(m365.SCHEMAS[table]) | {"_line_number"}, (path, table)


def test_unknown_header_raises(tmp_path):
    path = tmp_path / "mailbox.csv"
    path.write_text("Report Refresh Date,Storage Used (Byte),Item Count\n2024-05-01,10,2\n")

    assert not m365.detect(path, read_text(path))
    with pytest.raises(SourceFileError, match="mailbox.csv.*not a supported Microsoft 365"):
        m365.parse_file(path)


def test_missing_required_column_raises(tmp_path):
    path = tmp_path / "teams.csv"
    path.write_text("Report Refresh Date,Team Chat Message Count\n2024-05-01,3\n")

    with pytest.raises(SourceFileError, match="no user_principal_name column"):
        m365.parse_file(path)


def test_split_products_keeps_commas():
    assert m365.split_products("A, B (C)+D+ +D") == ["A, B (C)", "D"]
    assert m365.split_products(None) == []
