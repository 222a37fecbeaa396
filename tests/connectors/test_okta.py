"""Tests for the Okta System Log and user list connector."""

import json
from datetime import datetime
from pathlib import Path

import pytest

from licpipe.connectors import okta
from licpipe.connectors.base import SourceFileError, read_text

FIXTURES = Path(__file__).parent.parent / "fixtures" / "okta"


def parse(name: str):
    return okta.parse_file(FIXTURES / name)


def events_by_uuid(parsed):
    return {row["uuid"][:13]: row for row in parsed.tables[okta.EVENTS]}


def test_duplicate_uuids_land_once():
    parsed = parse("system_log_2026-11.ndjson")
    uuids = [row["uuid"] for row in parsed.tables[okta.EVENTS]]

    assert len(uuids) == len(set(uuids)) == 4
    assert parsed.notes["duplicate_uuids"] == 2
    # The first occurrence wins, so the landed line numbers are the earliest ones.
    assert [row["_line_number"] for row in parsed.tables[okta.EVENTS]] == [1, 2, 4, 5]


def test_out_of_order_events_kept():
    parsed = parse("system_log_2026-11.ndjson")
    published = [row["published_at"] for row in parsed.tables[okta.EVENTS]]

    assert published[1] < published[0]
    assert parsed.notes["out_of_order_events"] == 2
    assert published[0] == datetime(2026, 11, 2, 9, 15, 3, 120000)


def test_sso_targets_found_by_type():
    events = events_by_uuid(parse("system_log_2026-11.ndjson"))
    ana = events["a1b2c3d4-0001"]
    ben = events["a1b2c3d4-0003"]

    assert ana["app_display_name"] == "Adobe Creative Cloud"
    assert ana["app_label"] == "Adobe CC"
    assert ana["app_instance_id"] == "0oa1adobecc"
    # The AppUser target carries the app-side username, which differs from the actor's login.
    assert ana["app_user_alternate_id"] == "alima"
    assert ana["actor_alternate_id"] == "ana.lima@acme.example"
    # In ben's event the AppUser target comes first.
    assert ben["app_display_name"] == "Adobe Creative Cloud"
    assert ben["app_user_alternate_id"] == "ben.ode@acme.example"


def test_null_and_empty_targets():
    events = events_by_uuid(parse("system_log_2026-11.ndjson"))
    null_target = events["a1b2c3d4-0002"]
    empty_target = events["a1b2c3d4-0004"]

    assert null_target["event_type"] == "user.session.start"
    assert null_target["app_instance_id"] is None
    assert empty_target["app_user_alternate_id"] is None
    assert empty_target["outcome_result"] == "FAILURE"
    assert empty_target["outcome_reason"] == "INVALID_CREDENTIALS"


def test_client_zone_string_null():
    events = parse("system_log_2026-11.ndjson").tables[okta.EVENTS]

    assert all(event["client_zone"] is None for event in events)
    assert events[0]["client_ip"] == "198.51.100.7"


def test_bad_records_rejected_with_line():
    parsed = parse("system_log_2026-11.ndjson")
    reasons = {reject.line_number: reject.reason for reject in parsed.rejects}

    assert set(reasons) == {7, 8}
    assert "invalid JSON" in reasons[7]
    assert "'published'" in reasons[8]


def test_json_array_file():
    parsed = parse("system_log_array.json")

    assert parsed.records_total == 3
    assert parsed.notes["duplicate_uuids"] == 1
    assert [row["_line_number"] for row in parsed.tables[okta.EVENTS]] == [1, 2]


@pytest.mark.parametrize("name", ["system_log_2026-11.ndjson", "system_log_array.json"])
def test_events_total_adds_up(name):
    parsed = parse(name)
    landed = len(parsed.tables[okta.EVENTS])

    assert landed + len(parsed.rejects) + parsed.notes["duplicate_uuids"] == parsed.records_total


@pytest.mark.parametrize("name", ["users.csv", "users_suspended.csv"])
def test_users_total_adds_up(name):
    parsed = parse(name)

    assert len(parsed.tables[okta.USERS]) + len(parsed.rejects) == parsed.records_total


def test_users_statuses_kept():
    parsed = parse("users_suspended.csv")
    rows = parsed.tables[okta.USERS]

    assert [row["status"] for row in rows] == ["ACTIVE", "SUSPENDED"]
    assert rows[1]["last_login_at"] == datetime(2024, 2, 11, 9, 0)
    assert rows[1]["never_logged_in"] is False
    assert rows[0]["email"] is None
    assert "DEPROVISIONED" in parsed.notes["deprovisioned_missing"]


def test_users_never_logged_in():
    parsed = parse("users.csv")
    rows = {row["login"].split("@")[0]: row for row in parsed.tables[okta.USERS]}

    assert rows["cy.park"]["last_login_at"] is None
    assert rows["cy.park"]["never_logged_in"] is True
    assert rows["dee.ng"]["last_login_at"] is None
    assert rows["dee.ng"]["never_logged_in"] is True
    assert rows["ana.lima"]["never_logged_in"] is False
    assert rows["ben.ode"]["deactivated_at"] == datetime(2026, 9, 30, 17, 0)
    assert rows["ana.lima"]["deactivated_at"] is None
    assert "deprovisioned_missing" not in parsed.notes
    (reject,) = parsed.rejects
    assert reject.line_number == 6
    assert "'lastLogin'" in reject.reason
    assert "'yesterday'" in reject.reason


def test_users_columns_in_any_order(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("lastLogin,status,login,id\n,DEPROVISIONED,x@acme.example,00u9\n")
    (row,) = okta.parse_file(path).tables[okta.USERS]

    assert row["user_id"] == "00u9"
    assert row["status"] == "DEPROVISIONED"
    assert row["never_logged_in"] is True


def test_detect_fixtures():
    for path in FIXTURES.glob("*.*"):
        if path.suffix in {".ndjson", ".json", ".csv"}:
            assert okta.detect(path, read_text(path)[:4096]), path


def test_unknown_csv_raises(tmp_path):
    path = tmp_path / "groups.csv"
    path.write_text("group,members\nEngineering,12\n")

    assert not okta.detect(path, read_text(path))
    with pytest.raises(SourceFileError, match="groups.csv.*not an Okta user list"):
        okta.parse_file(path)


def test_broken_json_array_raises(tmp_path):
    path = tmp_path / "log.json"
    path.write_text(json.dumps([{"uuid": "a"}])[:-1])

    with pytest.raises(SourceFileError, match="not a valid JSON array"):
        okta.parse_file(path)


def test_long_ndjson_line_rejected(tmp_path):
    lines = (FIXTURES / "system_log_2026-11.ndjson").read_text().splitlines()
    padded = json.dumps({"uuid": "long", "padding": "p" * 70_000})
    path = tmp_path / "system_log.ndjson"
    path.write_text("\n".join([lines[0], padded, lines[1]]) + "\n")

    parsed = okta.parse_file(path)

    (reject,) = parsed.rejects
    assert reject.line_number == 2
    assert "characters long, over the limit of 65,536" in reject.reason
    assert [row["_line_number"] for row in parsed.tables[okta.EVENTS]] == [1, 3]
    assert parsed.records_total == 3
