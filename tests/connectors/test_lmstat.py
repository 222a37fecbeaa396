"""Tests for the lmstat -a and lmstat -i connector on real and hand-written snapshots."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from licpipe.checks.suites import validate_table
from licpipe.connectors import lmstat
from licpipe.connectors.base import SourceFileError
from licpipe.loading import load_source

FIXTURES = Path(__file__).parent.parent / "fixtures" / "flexlm"


def rows_of(parsed, table: str, **match) -> list[dict]:
    return [
        row
        for row in parsed.tables[table]
        if all(row.get(key) == value for key, value in match.items())
    ]


def seats_by_kind(rows: list[dict]) -> Counter:
    seats: Counter = Counter()
    for row in rows:
        seats[row["kind"]] += row["seats"]
    return seats


# --- lmstat -a ------------------------------------------------------------------------------


def test_quoted_feature_counts():
    parsed = lmstat.parse_file(FIXTURES / "lmstat_a_reservations_queued.txt")

    (feature,) = parsed.tables["lmstat_features"]
    assert feature["feature"] == "CAD PRO"
    assert feature["issued"] == 10
    assert feature["in_use"] == 7
    assert feature["vendor"] == "acmed"
    assert feature["snapshot_at"] == datetime(2025, 1, 2, 10, 0)
    assert feature["expires"] == date(2025, 12, 31)
    assert parsed.rejects == []


def test_seats_split_by_kind():
    parsed = lmstat.parse_file(FIXTURES / "lmstat_a_reservations_queued.txt")

    rows = parsed.tables["lmstat_checkouts"]
    seats = seats_by_kind(rows)
    assert seats["checkout"] == 5
    assert seats["reservation"] == 2
    assert seats["queued"] == 1
    assert seats["checkout"] + seats["reservation"] == parsed.tables["lmstat_features"][0]["in_use"]
    per_user = {row["user_name"]: row["seats"] for row in rows if row["kind"] == "checkout"}
    assert per_user == {"user1": 1, "user2": 3, "user3": 1}
    (queued,) = rows_of(parsed, "lmstat_checkouts", kind="queued")
    assert queued["user_name"] == "user5"
    (reservation,) = rows_of(parsed, "lmstat_checkouts", kind="reservation")
    assert reservation["reserved_for_type"] == "USER"
    assert reservation["reserved_for"] == "user4"
    assert reservation["user_name"] is None


def test_start_year_rolls_back():
    parsed = lmstat.parse_file(FIXTURES / "lmstat_a_reservations_queued.txt")

    (user3,) = rows_of(parsed, "lmstat_checkouts", user_name="user3")
    assert user3["start_at"] == datetime(2024, 12, 30, 17, 40)
    assert user3["linger_seconds"] == 3600
    assert user3["version"] == "2023.2"
    assert user3["server_port"] == "licsrv01/27001"
    assert user3["handle"] == "303"
    (user1,) = rows_of(parsed, "lmstat_checkouts", user_name="user1")
    assert user1["start_at"] == datetime(2025, 1, 2, 9, 2)
    (user2,) = rows_of(parsed, "lmstat_checkouts", user_name="user2")
    assert user2["display"] == "/dev/pts/3"
    assert user2["server"] == "licsrv01"


def test_feature_row_sums_seats_by_kind():
    parsed = lmstat.parse_file(FIXTURES / "lmstat_a_reservations_queued.txt")

    (feature,) = parsed.tables["lmstat_features"]
    assert feature["seats_checked_out"] == 5
    assert feature["seats_reserved"] == 2
    assert feature["seats_queued"] == 1
    assert feature["counts_match"] is True
    assert parsed.notes["count_mismatches"] == 0


def test_triad_count_mismatches_flagged():
    parsed = lmstat.parse_file(FIXTURES / "lmstat_a_triad_reservations.txt")

    mismatched = {
        row["feature"]: (row["in_use"], row["seats_checked_out"], row["seats_reserved"])
        for row in parsed.tables["lmstat_features"]
        if row["counts_match"] is False
    }
    assert mismatched == {
        "feature1": (1206, 1085, 132),
        "feature100": (2, 4, 0),
        "feature31": (299, 147, 169),
        "feature34": (1076, 969, 121),
    }
    assert parsed.notes["count_mismatches"] == 4


def load_lmstat(tmp_path: Path, name: str) -> duckdb.DuckDBPyConnection:
    landing = tmp_path / "landing"
    (landing / "flexlm").mkdir(parents=True)
    shutil.copy(FIXTURES / name, landing / "flexlm" / name)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    load_source(con, "flexlm", landing)
    return con


def test_gx_suite_passes_matching_counts(tmp_path):
    con = load_lmstat(tmp_path, "lmstat_a_reservations_queued.txt")

    outcome = validate_table(con, "raw_lmstat_features")

    assert outcome.passed
    assert all(result.success for result in outcome.results)


def test_gx_suite_warns_on_mismatch(tmp_path):
    con = load_lmstat(tmp_path, "lmstat_a_triad_reservations.txt")

    outcome = validate_table(con, "raw_lmstat_features")

    # A mismatch only warns, because utilisation is computed from the lines, not the total.
    assert outcome.passed
    (failed,) = [result for result in outcome.results if not result.success]
    assert failed.expectation == "expect_column_values_to_be_in_set(counts_match)"
    assert failed.severity == "warn"
    assert failed.unexpected_count == 4


def test_triad_reservations_counted_apart():
    parsed = lmstat.parse_file(FIXTURES / "lmstat_a_triad_reservations.txt")

    (feature30,) = rows_of(parsed, "lmstat_features", feature="feature30")
    rows = rows_of(parsed, "lmstat_checkouts", feature="feature30")
    assert feature30["in_use"] == 169
    assert seats_by_kind(rows) == Counter({"reservation": 169})
    assert {row["reserved_for_type"] for row in rows} == {"GROUP"}
    assert parsed.rejects == []


def test_triad_header_counts():
    parsed = lmstat.parse_file(FIXTURES / "lmstat_a_triad_reservations.txt")

    (feature1,) = rows_of(parsed, "lmstat_features", feature="feature1")
    assert (feature1["issued"], feature1["in_use"]) == (1814, 1206)
    assert feature1["server"] == (
        "27002@host-1.domain.net,27002@host2.domain.net,27002@host3.domain.net"
    )
    assert feature1["snapshot_at"] == datetime(2017, 10, 20, 17, 2)
    (feature12,) = rows_of(parsed, "lmstat_features", feature="feature12")
    assert (feature12["issued"], feature12["in_use"]) == (1, 0)
    (feature8,) = rows_of(parsed, "lmstat_features", feature="feature8")
    assert (feature8["issued"], feature8["in_use"]) == (10, 1)
    assert len(rows_of(parsed, "lmstat_features", feature="feature42")) == 2


def test_triad_multi_word_users_and_linger():
    parsed = lmstat.parse_file(FIXTURES / "lmstat_a_triad_reservations.txt")

    users = {
        row["user_name"]: row for row in rows_of(parsed, "lmstat_checkouts", feature="feature100")
    }
    assert set(users) == {"user13", "Administrator", "John Doe", "Jane Doe Jr."}
    assert users["John Doe"]["host"] == "John_D"
    assert users["Jane Doe Jr."]["host"] == "jane"
    assert users["Administrator"]["host"] == "ServerS1"
    assert users["Jane Doe Jr."]["start_at"] == datetime(2017, 7, 4, 11, 55)
    (lingering,) = rows_of(parsed, "lmstat_checkouts", user_name="cmfy212")
    assert lingering["seats"] == 16
    assert lingering["linger_seconds"] == 885098
    assert lingering["kind"] == "checkout"
    (user1,) = rows_of(parsed, "lmstat_checkouts", user_name="user1", feature="feature1")
    assert user1["seats"] == 16


def test_triad_queued_not_use():
    parsed = lmstat.parse_file(FIXTURES / "lmstat_a_triad_reservations.txt")

    rows = rows_of(parsed, "lmstat_checkouts", feature="feature5")
    assert seats_by_kind(rows) == Counter({"checkout": 2, "queued": 2})
    queued = rows_of(parsed, "lmstat_checkouts", feature="feature5", kind="queued")
    assert {row["host"] for row in queued} == {"server6u065"}
    assert all(row["start_at"] is None for row in queued)


def test_triad_accounting():
    parsed = lmstat.parse_file(FIXTURES / "lmstat_a_triad_reservations.txt")

    assert parsed.records_total == parsed.rows_landed + len(parsed.rejects)
    text = (FIXTURES / "lmstat_a_triad_reservations.txt").read_text()
    users_of_lines = sum(1 for line in text.splitlines() if line.startswith("Users of "))
    assert len(parsed.tables["lmstat_features"]) == users_of_lines


def test_servers_keyed_separately(tmp_path):
    path = tmp_path / "lmstat_two_servers.txt"
    path.write_text(
        "lmutil - Copyright (c) 1989-2017 Flexera Software LLC. All Rights Reserved.\n"
        "Flexible License Manager status on Fri 10/20/2017 17:02\n"
        "License server status: 27000@srv-a\n"
        "Vendor daemon status (on srv-a):\n"
        "  acmed: UP v11.16\n"
        "Users of CAD_PRO:  (Total of 4 licenses issued;  Total of 1 license in use)\n"
        "    alice ws-1 ws-1 (v1.0) (srv-a/27000 11), start Fri 10/20 9:00\n"
        "License server status: 27000@srv-b\n"
        "Vendor daemon status (on srv-b):\n"
        "  acmed: UP v11.16\n"
        "Users of CAD_PRO:  (Total of 6 licenses issued;  Total of 0 licenses in use)\n"
        "Users of SERIAL:  (Uncounted, node-locked)\n"
        "    bob ws-2 ws-2 (v1.0) (srv-b/27000 12) garbled\n"
    )

    parsed = lmstat.parse_file(path)

    features = {(row["server"], row["feature"]): row for row in parsed.tables["lmstat_features"]}
    assert features[("27000@srv-a", "CAD_PRO")]["issued"] == 4
    assert features[("27000@srv-b", "CAD_PRO")]["issued"] == 6
    assert features[("27000@srv-b", "SERIAL")]["is_uncounted"] is True
    assert features[("27000@srv-b", "SERIAL")]["issued"] is None
    assert all(row["vendor"] == "acmed" for row in features.values())
    (alice,) = parsed.tables["lmstat_checkouts"]
    assert alice["server"] == "27000@srv-a"
    (reject,) = parsed.rejects
    assert reject.line_number == 13
    assert "SERIAL" in reject.reason


def test_vendor_daemons_keyed_separately(tmp_path):
    path = tmp_path / "lmstat_two_vendors.txt"
    path.write_text(
        "lmutil - Copyright (c) 1989-2023 Flexera. All Rights Reserved.\n"
        "Flexible License Manager status on Tue 3/5/2024 14:30\n"
        "License server status: 27000@srv-a\n"
        "Vendor daemon status (on srv-a):\n"
        "    acmed: UP v11.19.4\n"
        "    simd: UP v11.19.4\n"
        "Feature usage info:\n"
        "Users of VIEWER:  (Total of 5 licenses issued;  Total of 1 license in use)\n"
        '  "VIEWER" v1.0, vendor: acmed, expiry: permanent(no expiration date)\n'
        "  floating license\n"
        "    alice ws-1 ws-1 (v1.0) (srv-a/27000 101), start Tue 3/5 9:00\n"
        "Users of VIEWER:  (Total of 2 licenses issued;  Total of 2 licenses in use)\n"
        '  "VIEWER" v3.0, vendor: simd, expiry: 1-jan-0\n'
        "  floating license\n"
        "    bob ws-2 ws-2 (v3.0) (srv-a/27000 202), start Tue 3/5 10:00, 2 licenses\n"
    )

    parsed = lmstat.parse_file(path)

    features = {row["vendor"]: row for row in parsed.tables["lmstat_features"]}
    assert set(features) == {"acmed", "simd"}
    assert (features["acmed"]["issued"], features["acmed"]["version"]) == (5, "1.0")
    assert (features["simd"]["issued"], features["simd"]["version"]) == (2, "3.0")
    checkouts = {row["user_name"]: row for row in parsed.tables["lmstat_checkouts"]}
    assert (checkouts["alice"]["vendor"], checkouts["alice"]["seats"]) == ("acmed", 1)
    assert (checkouts["bob"]["vendor"], checkouts["bob"]["seats"]) == ("simd", 2)
    assert all(row["counts_match"] for row in features.values())
    assert parsed.rejects == []


def test_pid_tail_and_blank_lines(tmp_path):
    path = tmp_path / "lmstat_matlab.txt"
    path.write_text(
        "Flexible License Manager status on Mon 2/10/2025 9:00\n"
        "\n"
        "Users of MATLAB:  (Total of 5 licenses issued;  Total of 2 licenses in use)\n"
        "\n"
        '  "MATLAB" v50, vendor: MLM, expiry: 01-jan-0000\n'
        "  floating license\n"
        "\n"
        "    user1 host1 display (v50) (lic.example.com/27004 401), start Mon 2/10 0:10, "
        "PID: 2924522\n"
        "\n"
        "    user2 host2 display (v50) (lic.example.com/27004 402), start Sun 2/9 23:55, "
        "PID: 2924999\n"
    )

    parsed = lmstat.parse_file(path)

    users = {row["user_name"]: row for row in parsed.tables["lmstat_checkouts"]}
    assert set(users) == {"user1", "user2"}
    assert users["user1"]["start_at"] == datetime(2025, 2, 10, 0, 10)
    assert users["user2"]["start_at"] == datetime(2025, 2, 9, 23, 55)
    assert users["user1"]["seats"] == 1
    assert users["user1"]["host"] == "host1"
    (feature,) = parsed.tables["lmstat_features"]
    assert feature["expires"] is None
    assert feature["counts_match"] is True
    assert parsed.rejects == []


def test_long_line_rejected(tmp_path):
    path = tmp_path / "lmstat_matlab.txt"
    path.write_text(
        "Flexible License Manager status on Mon 2/10/2025 9:00\n"
        + "x" * 70_000
        + "\nUsers of MATLAB:  (Total of 5 licenses issued;  Total of 0 licenses in use)\n"
    )

    parsed = lmstat.parse_file(path)

    (reject,) = parsed.rejects
    assert reject.line_number == 2
    assert "70,000 characters long" in reject.reason
    assert len(reject.raw_text) == 65_536
    (feature,) = parsed.tables["lmstat_features"]
    assert feature["feature"] == "MATLAB"


def test_detect_recognises_lmstat():
    for name in (
        "lmstat_a_reservations_queued.txt",
        "lmstat_a_triad_reservations.txt",
        "lmstat_i_expires_then_vendor.txt",
        "lmstat_i_vendor_then_expires.txt",
    ):
        path = FIXTURES / name
        assert lmstat.detect(path, path.read_text()[:4096]), name
    log = FIXTURES / "debug_date_inference.log"
    assert not lmstat.detect(log, log.read_text()[:4096])


def test_empty_file_raises(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n\n")

    with pytest.raises(SourceFileError, match="empty"):
        lmstat.parse_file(path)


# --- lmstat -i ------------------------------------------------------------------------------


def test_entitlements_column_order_from_header():
    first = lmstat.parse_file(FIXTURES / "lmstat_i_expires_then_vendor.txt")
    second = lmstat.parse_file(FIXTURES / "lmstat_i_vendor_then_expires.txt")

    rows = first.tables["lmstat_entitlements"] + second.tables["lmstat_entitlements"]
    assert {row["vendor"] for row in rows} == {"acmed"}
    cad = [row for row in rows if row["feature"] == "CAD_PRO"]
    assert [(row["seats"], row["expires"], row["is_permanent"]) for row in cad] == [
        (8, None, True),
        (2, date(2025, 4, 30), False),
    ]
    (sim,) = [row for row in rows if row["feature"] == "SIM_CORE"]
    (viewer,) = [row for row in rows if row["feature"] == "VIEWER"]
    assert (sim["expires"], sim["is_permanent"]) == (None, True)
    assert (viewer["expires"], viewer["is_permanent"], viewer["seats"]) == (None, True, 4)
    assert first.rejects == []
    assert second.rejects == []


def test_no_expiry_year_below_2000():
    for name in ("lmstat_i_expires_then_vendor.txt", "lmstat_i_vendor_then_expires.txt"):
        parsed = lmstat.parse_file(FIXTURES / name)
        for row in parsed.tables["lmstat_entitlements"]:
            if row["is_permanent"]:
                assert row["expires"] is None
            else:
                assert row["expires"].year >= 2000


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("permanent(no expiration date)", (None, True)),
        ("permanent", (None, True)),
        ("1-jan-0", (None, True)),
        ("01-jan-0000", (None, True)),
        ("30-apr-2025", (date(2025, 4, 30), False)),
    ],
)
def test_parse_expiry_sentinels(raw, expected):
    assert lmstat.parse_expiry(raw) == expected


def test_bad_expiry_rejected(tmp_path):
    path = tmp_path / "lmstat_i.txt"
    path.write_text(
        "Feature          Version     #licenses    Vendor        Expires\n"
        "_______          _________   _________    ______        ________\n"
        '"CAD PRO"        1.0          4           acmed         31-foo-2025\n'
        "VIEWER           1.0          4           acmed         permanent\n"
    )

    parsed = lmstat.parse_file(path)

    (reject,) = parsed.rejects
    assert reject.line_number == 3
    assert "31-foo-2025" in reject.reason
    (viewer,) = parsed.tables["lmstat_entitlements"]
    assert viewer["is_permanent"] is True
    assert parsed.records_total == 2
