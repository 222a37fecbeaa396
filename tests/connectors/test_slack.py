from datetime import date, datetime
from pathlib import Path

import pytest

from licpipe.connectors import slack
from licpipe.connectors.base import SourceFileError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "slack"
PRIOR_30 = FIXTURES / "Acme Member Analytics Prior 30 Days - Apr 17, 2026.csv"
RANGE = FIXTURES / "Acme Member Analytics Mar 17, 2025 - Apr 17, 2026.csv"
ONE_DAY = FIXTURES / "Acme Member Analytics Dec 15, 2026 - Dec 15, 2026.csv"


def _head(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig")[:4096]


@pytest.mark.parametrize(
    ("path", "start", "end"),
    [
        (PRIOR_30, date(2026, 3, 19), date(2026, 4, 17)),
        (RANGE, date(2025, 3, 17), date(2026, 4, 17)),
        (ONE_DAY, date(2026, 12, 15), date(2026, 12, 15)),
    ],
)
def test_window_from_file_name(path, start, end):
    rows = slack.parse_file(path).tables["slack_members"]

    assert rows
    assert {row["window_start"] for row in rows} == {start}
    assert {row["window_end"] for row in rows} == {end}


def test_members_values_typed():
    parsed = slack.parse_file(PRIOR_30)
    ana = parsed.tables["slack_members"][0]

    assert ana["user_id"] == "U01AAA"
    assert ana["name"] == "Ana Ruiz"
    assert ana["messages_posted"] == 1234
    assert ana["messages_posted_in_channels"] == 1001
    assert ana["reactions_added"] == 56
    assert ana["days_active"] == 30
    assert ana["days_active_ios"] == 12
    assert ana["account_created_at"] == date(2024, 1, 5)
    assert ana["last_active_on"] == date(2026, 4, 17)
    assert ana["last_active_android_on"] is None
    assert ana["billing_active"] is None
    assert ana["_line_number"] == 2


def test_members_bad_rows_rejected():
    parsed = slack.parse_file(PRIOR_30)
    reasons = {reject.line_number: reject.reason for reject in parsed.rejects}

    assert set(reasons) == {5, 6}
    assert "days_active" in reasons[5]
    assert "'many'" in reasons[5]
    assert "7 fields" in reasons[6]
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total
    assert parsed.records_total == 5


def test_window_option_overrides_name(tmp_path):
    renamed = tmp_path / "slack_export.csv"
    renamed.write_bytes(ONE_DAY.read_bytes())

    parsed = slack.parse_file(renamed, window_start="2026-12-01", window_end=date(2026, 12, 15))
    row = parsed.tables["slack_members"][0]

    assert row["window_start"] == date(2026, 12, 1)
    assert row["window_end"] == date(2026, 12, 15)


def test_missing_window_raises(tmp_path):
    renamed = tmp_path / "slack_export.csv"
    renamed.write_bytes(ONE_DAY.read_bytes())

    with pytest.raises(SourceFileError, match="window"):
        slack.parse_file(renamed)


def test_window_name_forms():
    assert slack.report_window_from_name("X Member Analytics Prior 7 Days - Jan 3, 2026.csv") == (
        date(2025, 12, 28),
        date(2026, 1, 3),
    )
    assert slack.report_window_from_name(
        "X Member Analytics September 1, 2026 - Sept 30, 2026.csv"
    ) == (date(2026, 9, 1), date(2026, 9, 30))
    assert slack.report_window_from_name("members.csv") is None


def test_billing_export_mixed_booleans():
    parsed = slack.parse_file(FIXTURES / "members.csv")
    rows = {row["username"]: row for row in parsed.tables["slack_billing"]}

    assert rows["ana"]["billing_active"] is True
    assert rows["ana"]["has_2fa"] is True
    assert rows["ana"]["expiration_at"] is None
    assert rows["ben"]["billing_active"] is True
    assert rows["ben"]["has_sso"] is True
    assert rows["cy"]["billing_active"] is False
    assert rows["cy"]["expiration_at"] == datetime(2026, 6, 16)
    assert rows["cy"]["status"] == "Single-Channel Guest"
    assert [reject.line_number for reject in parsed.rejects] == [5]
    assert "billing_active" in parsed.rejects[0].reason
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total


def test_minimal_billing_header():
    path = FIXTURES / "minimal_billing_members.csv"
    parsed = slack.parse_file(path)
    rows = parsed.tables["slack_billing"]

    assert slack.detect(path, _head(path))
    assert [row["email"] for row in rows] == ["user1@example.com", "user3@example.com"]
    assert all(row["billing_active"] is True for row in rows)
    assert all(row["account_type"] == "Member" for row in rows)
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 2


def test_detect_rejects_other_exports(tmp_path):
    other = tmp_path / "users.csv"
    other.write_text("id,login,status,lastLogin\n00u1,a@example.com,ACTIVE,\n")

    assert slack.detect(PRIOR_30, _head(PRIOR_30))
    assert not slack.detect(other, _head(other))
    with pytest.raises(SourceFileError, match="unknown Slack export header"):
        slack.parse_file(other)


def test_schema_covers_row_columns():
    row = slack.parse_file(PRIOR_30).tables["slack_members"][0]

    assert set(row) - {"_line_number"} == set(slack.SCHEMAS["slack_members"])
