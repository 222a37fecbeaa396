"""Tests for the FlexLM debug-log connector on real logs and small hand-written ones."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from licpipe.connectors import flexlm_log
from licpipe.connectors.base import SourceFileError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "flexlm"
REAL_LOGS = ["adskflex_autodesk_debug.log", "mlm_matlab_debug.log"]
USAGE_LINE = re.compile(
    r"^\s*\d{1,2}:\d{2}:\d{2} \([^)]+\) (OUT|IN|DENIED|UNSUPPORTED)( server died)?:"
)


def write_log(tmp_path: Path, text: str, name: str = "debug.log", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def physical_lines(path: Path) -> int:
    data = path.read_bytes()
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def sessions_for(parsed, user: str) -> list[dict]:
    return [row for row in parsed.tables["flexlm_sessions"] if row["user_name"] == user]


def events_of(parsed, event_type: str) -> list[dict]:
    return [row for row in parsed.tables["flexlm_events"] if row["event_type"] == event_type]


# --- date inference -------------------------------------------------------------------------


def test_session_across_midnight_is_988_seconds():
    parsed = flexlm_log.parse_file(FIXTURES / "debug_date_inference.log")

    (session,) = sessions_for(parsed, "user2")
    assert session["checkout_at"] == datetime(2024, 3, 30, 23, 55, 41)
    assert session["checkin_at"] == datetime(2024, 3, 31, 0, 12, 9)
    assert session["duration_seconds"] == 988
    assert session["end_reason"] == "checkin"


def test_denial_dated_after_rollover():
    parsed = flexlm_log.parse_file(FIXTURES / "debug_date_inference.log")

    (denial,) = events_of(parsed, "DENIED")
    assert denial["event_at"] == datetime(2024, 3, 31, 0, 20, 30)
    assert denial["date_source"] == "rollover"
    assert "users already reached" in denial["reason"]
    assert denial["error_code"] == "-4,342"
    assert denial["user_name"] == "user3"


def test_forked_daemon_and_multi_seat():
    parsed = flexlm_log.parse_file(FIXTURES / "debug_date_inference.log")

    (checkout,) = [e for e in events_of(parsed, "OUT") if e["user_name"] == "first.last"]
    assert checkout["daemon"] == "acmed"
    assert checkout["daemon_raw"] == "acmed_1"
    assert checkout["seats"] == 2
    assert checkout["host"] == "ws-004"
    (session,) = sessions_for(parsed, "first.last")
    assert session["seats"] == 2
    assert session["end_reason"] == "open_at_end_of_file"
    assert session["checkin_at"] is None


def test_server_died_closes_session():
    parsed = flexlm_log.parse_file(FIXTURES / "debug_date_inference.log")

    (session,) = sessions_for(parsed, "user1")
    assert session["end_reason"] == "server_died"
    assert session["checkin_at"] == datetime(2024, 3, 31, 8, 2)
    (checkin,) = [e for e in events_of(parsed, "IN") if e["user_name"] == "user1"]
    assert checkin["flag"] == "server_died"
    assert parsed.rejects == []


def test_dst_back_step_keeps_date(tmp_path):
    path = write_log(
        tmp_path,
        " 0:10:00 (lmgrd) TIMESTAMP 11/3/2024\n"
        ' 1:50:00 (acmed) OUT: "CAD_PRO" user1@ws-001  \n'
        ' 1:05:00 (acmed) IN: "CAD_PRO" user1@ws-001  \n'
        ' 1:30:00 (acmed) OUT: "CAD_PRO" user2@ws-002  \n',
    )

    parsed = flexlm_log.parse_file(path)

    dates = {row["event_at"].date() for row in parsed.tables["flexlm_events"]}
    assert dates == {date(2024, 11, 3)}
    (session,) = sessions_for(parsed, "user1")
    assert session["duration_seconds"] == 0
    assert parsed.notes["clamped_durations"] == 1


def test_lines_before_anchor_dated_from_next(tmp_path):
    path = write_log(
        tmp_path,
        '22:00:00 (acmed) OUT: "CAD_PRO" user1@ws-001  \n'
        ' 1:00:00 (acmed) IN: "CAD_PRO" user1@ws-001  \n'
        " 4:25:39 (lmgrd) TIMESTAMP 6/10/2022\n",
    )

    parsed = flexlm_log.parse_file(path)

    checkout, checkin = parsed.tables["flexlm_events"]
    assert checkout["event_at"] == datetime(2022, 6, 9, 22, 0)
    assert checkout["date_source"] == "next_anchor"
    assert checkin["event_at"] == datetime(2022, 6, 10, 1, 0)
    assert sessions_for(parsed, "user1")[0]["duration_seconds"] == 3 * 3600


def test_log_date_used_without_anchor(tmp_path):
    path = write_log(
        tmp_path,
        '23:59:37 (MLM) OUT: "MATLAB" user1@ws-001  \n 0:00:53 (MLM) IN: "MATLAB" user1@ws-001  \n',
    )

    parsed = flexlm_log.parse_file(path, log_date=date(2022, 6, 9))

    checkout, checkin = parsed.tables["flexlm_events"]
    assert checkout["event_at"] == datetime(2022, 6, 9, 23, 59, 37)
    assert checkout["date_source"] == "log_date"
    assert checkin["event_at"] == datetime(2022, 6, 10, 0, 0, 53)
    assert checkin["date_source"] == "rollover"


def test_no_anchor_raises_with_fix(tmp_path):
    path = write_log(tmp_path, '10:00:00 (MLM) OUT: "MATLAB" user1@ws-001  \n')

    with pytest.raises(SourceFileError) as error:
        flexlm_log.parse_file(path)

    assert str(path) in str(error.value)
    assert "--log-date" in str(error.value)


def test_interleaved_timestamps_reanchor(tmp_path):
    path = write_log(
        tmp_path,
        "22:25:38 (lmgrd) TIMESTAMP 6/9/2022\n"
        "22:35:39 (MLM) TIMESTAMP 6/9/2022\n"
        "22:35:38 (lmgrd) Informational line written a second late\n"
        " 4:25:39 (lmgrd) TIMESTAMP 6/10/2022\n"
        " 4:40:39 (MLM) TIMESTAMP 6/10/2022\n"
        ' 4:41:00 (MLM) OUT: "MATLAB" user1@ws-001  \n',
    )

    parsed = flexlm_log.parse_file(path)

    (checkout,) = parsed.tables["flexlm_events"]
    assert checkout["event_at"] == datetime(2022, 6, 10, 4, 41)
    late = parsed.tables["flexlm_server_events"][2]
    assert late["event_at"] == datetime(2022, 6, 9, 22, 35, 38)


def test_system_date_line_anchors(tmp_path):
    path = write_log(
        tmp_path,
        " 1:56:00 (lmgrd) Server's System Date and Time: Wed Mar 30 2016 01:56:00 Romance "
        "Daylight Time\n"
        ' 1:57:00 (adskflex) OUT: "64300ACD_F" USER01@COMPUTER01  \n',
    )

    parsed = flexlm_log.parse_file(path)

    assert parsed.tables["flexlm_events"][0]["event_at"] == datetime(2016, 3, 30, 1, 57)
    assert parsed.tables["flexlm_events"][0]["date_source"] == "banner"


# --- line shapes ----------------------------------------------------------------------------


def test_message_shapes_parse(tmp_path):
    path = write_log(
        tmp_path,
        " 7:56:05 (lmgrd) TIMESTAMP 3/30/2016\n"
        '16:13:35 (MSC) OUT: "MSCONE" user_01@machine_01 [MSCONE:NASTRAN] (13 licenses)\n'
        '17:09:27 (MSC) IN: "MSCONE" user_01@machine_01 [MSCONE:NASTRAN] (13 licenses) '
        "(SHUTDOWN)\n"
        '17:10:00 (parteklm) DENIED: "base" jdoe@NCI-01987186  (Licensed number of users '
        'already reached. (-4,342:10054 ""))\n'
        '17:11:00 (parteklm) UNSUPPORTED: "pathway_base" (PORT_AT_HOST_PLUS   ) jdoe@host1  '
        "(License server system does not support this feature. (-18,327))\n"
        '17:12:00 (acmed) QUEUED: "CAD_PRO" user9@ws-009  ^^^ 2024.1 user9 10.0.0.9 4242 '
        "7 10 10 proj 11.16 2 3/30/2016 17:12:00 0 ^^^\n"
        '17:13:00 (acmed) DEQUEUED: "CAD_PRO" user9@ws-009  \n'
        '17:14:00 (adskflex) IN: "64300ACD_F" USER07@COMPUTER04  (INACTIVE)\n',
    )

    parsed = flexlm_log.parse_file(path)

    checkout, checkin, denial, unsupported, queued, dequeued, inactive = parsed.tables[
        "flexlm_events"
    ]
    assert checkout["token_product"] == "MSCONE:NASTRAN"
    assert checkout["seats"] == 13
    assert checkin["flag"] == "SHUTDOWN"
    assert sessions_for(parsed, "user_01")[0]["end_reason"] == "shutdown"
    assert denial["error_code"] == "-4,342"
    assert denial["os_error"] == "10054"
    assert denial["reason"] == "Licensed number of users already reached."
    assert unsupported["request_detail"] == "PORT_AT_HOST_PLUS"
    assert unsupported["user_name"] == "jdoe"
    assert unsupported["error_code"] == "-18,327"
    assert queued["event_type"] == "QUEUED"
    assert queued["user_name"] == "user9"
    assert queued["host"] == "ws-009"
    assert queued["verbose_detail"].startswith("2024.1 user9 10.0.0.9")
    assert dequeued["event_type"] == "DEQUEUED"
    assert inactive["flag"] == "INACTIVE"
    assert parsed.rejects == []


def test_user_with_spaces_and_at_sign(tmp_path):
    path = write_log(
        tmp_path,
        " 7:56:05 (lmgrd) TIMESTAMP 3/30/2016\n"
        ' 8:00:00 (MLM) OUT: "MATLAB" José Juan Galera@Plasmon  \n'
        ' 8:01:00 (MLM) OUT: "MATLAB" ops@corp@ws-01  \n',
    )

    parsed = flexlm_log.parse_file(path)

    first, second = parsed.tables["flexlm_events"]
    assert first["user_name"] == "José Juan Galera"
    assert first["host"] == "Plasmon"
    assert second["user_name"] == "ops@corp"
    assert second["host"] == "ws-01"


def test_crlf_bom_and_cp1252(tmp_path):
    text = (
        "\ufeff 7:56:05 (lmgrd) TIMESTAMP 3/30/2016\r\n"
        ' 8:00:00 (MLM) OUT: "MATLAB" Renée@ws-01  \r\n'
        "\r\n"
    )
    utf8 = flexlm_log.parse_file(write_log(tmp_path, text, "utf8.log"))
    cp1252 = flexlm_log.parse_file(
        write_log(tmp_path, text.replace("\ufeff", ""), "cp1252.log", "cp1252")
    )

    for parsed in (utf8, cp1252):
        (event,) = parsed.tables["flexlm_events"]
        assert event["user_name"] == "Renée"
        assert event["host"] == "ws-01"
        assert parsed.notes["blank_lines"] == 1
        assert parsed.records_total == 2


def test_slog_and_free_text_are_server_events(tmp_path):
    path = write_log(
        tmp_path,
        " 7:56:05 (lmgrd) TIMESTAMP 3/30/2016\n"
        " 8:00:00 (MLM) (@MLM-SLOG@) 00000000 ms at  9:55:54(3/30/2016),#8,(2728K),"
        "(USER02,COMPUTER02,232)\n"
        " 8:00:00 (MLM) SLOG: Summary LOG statistics is enabled.\n"
        " ansyslmd  ansoftd  \n"
        " (@MSC-INFO@)    16:12:08 (MSC) C:\\MSC\\mscusage_2026-03-08.ddu\n"
        "free(): invalid pointer\n",
    )

    parsed = flexlm_log.parse_file(path)

    assert parsed.tables["flexlm_events"] == []
    types = [row["event_type"] for row in parsed.tables["flexlm_server_events"]]
    assert types == ["timestamp", "slog", "slog", "info", "info", "info"]
    continuation = parsed.tables["flexlm_server_events"][3]
    assert continuation["event_at"] == datetime(2016, 3, 30, 8, 0)
    assert parsed.rejects == []


def test_unparsable_usage_line_rejected(tmp_path):
    path = write_log(
        tmp_path,
        ' 7:56:05 (lmgrd) TIMESTAMP 3/30/2016\n 8:00:00 (MLM) OUT: "MATLAB" nobody-here  \n',
    )

    parsed = flexlm_log.parse_file(path)

    (reject,) = parsed.rejects
    assert reject.line_number == 2
    assert "user@host" in reject.reason
    assert parsed.tables["flexlm_events"] == []


def test_invalid_usage_lines_rejected():
    parsed = flexlm_log.parse_file(FIXTURES / "invalid_usage_lines.log")

    reasons = {reject.line_number: reject.reason for reject in parsed.rejects}
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert "counts 0 licenses, and a usage event needs 1 or more" in reasons[3]
    assert "invalid clock time 99:99:99" in reasons[4]
    assert reasons[5] == "OUT line has no feature name; expected 'OUT: \"FEATURE\" user@host'"
    assert reasons[6].endswith("; expected 'IN: \"FEATURE\" user@host'")
    assert reasons[7].endswith("; expected 'DENIED: \"FEATURE\" user@host (reason)'")
    assert len(parsed.tables["flexlm_server_events"]) == 1
    events = [(row["event_type"], row["_line_number"]) for row in parsed.tables["flexlm_events"]]
    assert events == [("OUT", 2), ("IN", 8)]
    (session,) = parsed.tables["flexlm_sessions"]
    assert session["seats"] == 1
    assert session["duration_seconds"] == 345
    assert parsed.records_total == 8


def test_invalid_clock_keeps_date(tmp_path):
    path = write_log(
        tmp_path,
        "23:50:00 (lmgrd) TIMESTAMP 3/30/2024\n"
        '24:00:00 (acmed) OUT: "CAD_PRO" user1@ws-001\n'
        '23:59:60 (acmed) OUT: "CAD_PRO" user1@ws-001\n'
        '23:55:00 (acmed) OUT: "CAD_PRO" user2@ws-002\n',
    )

    parsed = flexlm_log.parse_file(path)

    assert [reject.line_number for reject in parsed.rejects] == [2, 3]
    (event,) = parsed.tables["flexlm_events"]
    assert event["event_at"] == datetime(2024, 3, 30, 23, 55)
    assert event["date_source"] == "timestamp"


def test_long_line_rejected_with_start(tmp_path):
    path = write_log(
        tmp_path,
        " 9:00:00 (lmgrd) TIMESTAMP 3/30/2024\n"
        + " 9:01:00 (acmed) "
        + "x" * 200_000
        + '\n 9:02:00 (acmed) OUT: "CAD_PRO" user1@ws-001\n',
    )

    parsed = flexlm_log.parse_file(path)

    (reject,) = parsed.rejects
    assert reject.line_number == 2
    assert "200,017 characters long" in reject.reason
    assert reject.raw_text.startswith(" 9:01:00 (acmed) xxx")
    assert len(parsed.tables["flexlm_events"]) == 1
    assert parsed.records_total == 3


# --- session end reasons --------------------------------------------------------------------


def test_lifecycle_end_reasons(tmp_path):
    path = write_log(
        tmp_path,
        " 6:00:00 (lmgrd) FlexNet Licensing (v11.12.0.0 build 1 x64_n6) started on srv1 (IBM PC) "
        "(3/30/2016)\n"
        ' 6:10:00 (parteklm) OUT: "base" a@h1  \n'
        " 6:20:35 (parteklm) Lost connection to lmgrd, heartbeat timeout expired, exiting.\n"
        " 6:20:46 (lmgrd) REStarted parteklm (pid 4552)\n"
        ' 6:30:00 (parteklm) OUT: "base" b@h2  \n'
        " 6:40:00 (lmgrd) REStarted parteklm (pid 4553)\n"
        ' 7:00:00 (MLM) OUT: "MATLAB" c@h3  \n'
        ' 7:00:01 (MLM) OUT: "MATLAB" d@h4  \n'
        " 8:14:44 (lmgrd) SHUTDOWN request from upm at node flexlm01\n"
        ' 8:14:44 (MLM) IN: "MATLAB" c@h3  (SHUTDOWN)\n'
        " 8:14:45 (MLM) EXITING DUE TO SIGNAL 15\n",
    )

    parsed = flexlm_log.parse_file(path)

    reasons = {row["user_name"]: row["end_reason"] for row in parsed.tables["flexlm_sessions"]}
    assert reasons == {"a": "daemon_exit", "b": "restart", "c": "shutdown", "d": "daemon_exit"}
    (lost,) = sessions_for(parsed, "a")
    assert lost["checkin_at"] == datetime(2016, 3, 30, 6, 20, 35)
    server_types = Counter(row["event_type"] for row in parsed.tables["flexlm_server_events"])
    assert server_types["lost_connection"] == 1
    assert server_types["restart"] == 2
    assert server_types["shutdown"] == 1
    assert server_types["exit"] == 1
    assert all(row["server"] == "srv1" for row in parsed.tables["flexlm_sessions"])


def test_new_banner_closes_open_sessions(tmp_path):
    path = write_log(
        tmp_path,
        " 6:00:00 (lmgrd) FlexNet Licensing (v11.12) started on srv1 (IBM PC) (3/30/2016)\n"
        ' 6:10:00 (acmed) OUT: "CAD_PRO" a@h1  \n'
        " 9:00:00 (lmgrd) FlexNet Licensing (v11.12) started on srv1 (IBM PC) (3/30/2016)\n",
    )

    parsed = flexlm_log.parse_file(path)

    (session,) = parsed.tables["flexlm_sessions"]
    assert session["end_reason"] == "restart"
    assert session["duration_seconds"] == 2 * 3600 + 50 * 60


def test_fifo_matching_of_parallel_checkouts(tmp_path):
    path = write_log(
        tmp_path,
        " 7:00:00 (lmgrd) TIMESTAMP 3/30/2016\n"
        ' 7:00:00 (MLM) OUT: "MATLAB" u@h  \n'
        ' 7:10:00 (MLM) OUT: "MATLAB" u@h  \n'
        ' 7:20:00 (MLM) IN: "MATLAB" u@h  \n'
        ' 7:30:00 (MLM) IN: "MATLAB" u@h  \n',
    )

    parsed = flexlm_log.parse_file(path)

    durations = sorted(row["duration_seconds"] for row in parsed.tables["flexlm_sessions"])
    assert durations == [1200, 1200]


# --- real logs ------------------------------------------------------------------------------


# Where each of the 2,000 lines of the real logs lands. Neither log has a line the connector
# rejects, so the table of reject reasons by count is empty and any new reject fails the test.
REAL_LOG_ACCOUNTING = {
    "adskflex_autodesk_debug.log": {"events": 582, "server_events": 1418, "rejects": {}},
    "mlm_matlab_debug.log": {"events": 1416, "server_events": 584, "rejects": {}},
}


@pytest.mark.parametrize("name", REAL_LOGS)
def test_real_log_accounting(name):
    path = FIXTURES / name
    expected = REAL_LOG_ACCOUNTING[name]

    parsed = flexlm_log.parse_file(path)

    events = len(parsed.tables["flexlm_events"])
    server_events = len(parsed.tables["flexlm_server_events"])
    reject_reasons = Counter(reject.reason for reject in parsed.rejects)
    blanks = parsed.notes["blank_lines"]
    assert physical_lines(path) == 2000
    assert events + server_events + len(parsed.rejects) + blanks == physical_lines(path)
    assert parsed.records_total == physical_lines(path) - blanks
    assert events == expected["events"]
    assert server_events == expected["server_events"]
    assert dict(reject_reasons) == expected["rejects"]
    assert parsed.notes["reject_reasons"] == expected["rejects"]


@pytest.mark.parametrize("name", REAL_LOGS)
def test_real_log_usage_lines_land(name):
    path = FIXTURES / name
    expected = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        match = USAGE_LINE.match(line)
        if match:
            expected[match.group(1)] += 1

    parsed = flexlm_log.parse_file(path)

    landed = Counter(row["event_type"] for row in parsed.tables["flexlm_events"])
    for event_type in ("OUT", "IN", "DENIED", "UNSUPPORTED"):
        assert landed[event_type] == expected[event_type], event_type
    assert sum(expected.values()) > 500


@pytest.mark.parametrize(
    ("name", "first_date"),
    [
        ("adskflex_autodesk_debug.log", date(2016, 3, 30)),
        ("mlm_matlab_debug.log", date(2022, 6, 9)),
    ],
)
def test_real_log_dates_and_durations(name, first_date):
    parsed = flexlm_log.parse_file(FIXTURES / name)

    event_dates = [row["event_at"].date() for row in parsed.tables["flexlm_events"]]
    assert min(event_dates) == first_date
    assert max(event_dates) > first_date
    durations = [
        row["duration_seconds"]
        for row in parsed.tables["flexlm_sessions"]
        if row["duration_seconds"] is not None
    ]
    assert durations
    assert min(durations) >= 0
    assert all(row["_line_number"] for row in parsed.tables["flexlm_sessions"])


def test_matlab_log_accents_and_unsupported():
    parsed = flexlm_log.parse_file(FIXTURES / "mlm_matlab_debug.log")

    users = {row["user_name"] for row in parsed.tables["flexlm_events"]}
    assert "José Ana Ortiz" in users
    assert "Renée Paula Mora" in users
    unsupported = events_of(parsed, "UNSUPPORTED")
    assert len(unsupported) == 8
    assert {row["request_detail"] for row in unsupported} == {"BF04C1B183DD400E147F"}
    assert all("BF04" not in row["user_name"] for row in unsupported)
    assert {row["error_code"] for row in unsupported} == {"-5,346"}
    assert all(row["server"] == "flexlm01" for row in parsed.tables["flexlm_events"])


def test_matlab_log_rollover_on_ordinary_line():
    parsed = flexlm_log.parse_file(FIXTURES / "mlm_matlab_debug.log")

    rolled = [row for row in parsed.tables["flexlm_events"] if row["date_source"] == "rollover"]
    anchor = next(
        row
        for row in parsed.tables["flexlm_server_events"]
        if row["message"] == "TIMESTAMP 6/11/2022"
    )
    assert rolled
    assert rolled[0]["event_at"] == datetime(2022, 6, 11, 0, 0, 53)
    assert rolled[0]["event_type"] == "IN"
    assert all(row["_line_number"] < anchor["_line_number"] for row in rolled)
    assert {row["event_at"].date() for row in rolled} == {anchor["event_at"].date()}


def test_autodesk_suite_component_flagged():
    parsed = flexlm_log.parse_file(FIXTURES / "adskflex_autodesk_debug.log")

    sessions = parsed.tables["flexlm_sessions"]
    components = [row for row in sessions if row["is_component_of_suite"]]
    assert components
    pairs = {(row["suite_feature"], row["feature"]) for row in components}
    assert pairs == {
        ("64300ACD_F", "85730ACD_2012_0F"),
        ("64300ACD_F", "86295ACD_2015_0F"),
        ("65400MAP_F", "85776MAP_2012_0F"),
    }
    suites = [row for row in sessions if row["feature"] == "64300ACD_F"]
    assert not any(row["is_component_of_suite"] for row in suites)
    assert Counter(row["end_reason"] for row in sessions)["inactive"] > 0


def test_autodesk_suite_session_values():
    parsed = flexlm_log.parse_file(FIXTURES / "adskflex_autodesk_debug.log")
    by_line = {row["_line_number"]: row for row in parsed.tables["flexlm_sessions"]}

    # Lines 118 and 119 check out the suite and its component. Lines 175 and 176 check both in.
    suite, component = by_line[118], by_line[119]
    for session in (suite, component):
        assert session["user_name"] == "USER01"
        assert session["host"] == "COMPUTER01"
        assert session["server"] == "SERVER01"
        assert session["checkout_at"] == datetime(2016, 3, 30, 6, 51, 39)
        assert session["checkin_at"] == datetime(2016, 3, 30, 11, 1, 14)
        assert session["duration_seconds"] == 4 * 3600 + 9 * 60 + 35
        assert session["end_reason"] == "checkin"
        assert session["seats"] == 1
    assert suite["feature"] == "64300ACD_F"
    assert suite["is_component_of_suite"] is False
    assert component["feature"] == "85730ACD_2012_0F"
    assert component["is_component_of_suite"] is True
    assert component["suite_feature"] == "64300ACD_F"

    # The next day's session ends with an idle-timeout check-in at 10:01:13.
    idle = by_line[509]
    assert idle["checkout_at"] == datetime(2016, 3, 31, 8, 49, 58)
    assert idle["checkin_at"] == datetime(2016, 3, 31, 10, 1, 13)
    assert idle["duration_seconds"] == 4275
    assert idle["end_reason"] == "inactive"


def test_autodesk_end_reasons_counted():
    parsed = flexlm_log.parse_file(FIXTURES / "adskflex_autodesk_debug.log")

    reasons = Counter(row["end_reason"] for row in parsed.tables["flexlm_sessions"])
    assert reasons == Counter({"checkin": 226, "inactive": 58, "open_at_end_of_file": 14})
    assert parsed.notes["unmatched_checkins"] == 0


def test_matlab_session_across_midnight():
    parsed = flexlm_log.parse_file(FIXTURES / "mlm_matlab_debug.log")

    (session,) = [row for row in parsed.tables["flexlm_sessions"] if row["_line_number"] == 1670]
    assert session["user_name"] == "user028"
    assert session["host"] == "WS-052"
    assert session["feature"] == "MATLAB"
    assert session["checkout_at"] == datetime(2022, 6, 10, 23, 59, 37)
    assert session["checkin_at"] == datetime(2022, 6, 11, 0, 0, 53)
    assert session["duration_seconds"] == 76
    assert session["checkin_line_number"] == 1671
    reasons = Counter(row["end_reason"] for row in parsed.tables["flexlm_sessions"])
    assert reasons == Counter({"checkin": 666, "open_at_end_of_file": 76})


def test_detect_recognises_debug_logs():
    for name in [*REAL_LOGS, "debug_date_inference.log"]:
        head = (FIXTURES / name).read_text(encoding="utf-8")[:4096]
        assert flexlm_log.detect(FIXTURES / name, head), name
    lmstat_head = (FIXTURES / "lmstat_a_reservations_queued.txt").read_text()[:4096]
    assert not flexlm_log.detect(FIXTURES / "lmstat_a_reservations_queued.txt", lmstat_head)


def test_large_log_lands_every_line(tmp_path):
    lines = [" 0:00:00 (lmgrd) TIMESTAMP 1/1/2024\n"]
    for index in range(50_000):
        clock = f"{(index // 3600) % 24:2d}:{(index // 60) % 60:02d}:{index % 60:02d}"
        verb = "OUT" if index % 2 == 0 else "IN"
        user = (index // 2) % 97
        lines.append(f'{clock} (acmed) {verb}: "CAD_PRO" user{user}@ws-{user}  \n')
    path = write_log(tmp_path, "".join(lines))

    parsed = flexlm_log.parse_file(path)

    assert len(parsed.tables["flexlm_events"]) == 50_000
    assert len(parsed.tables["flexlm_server_events"]) == 1
    assert parsed.rejects == []
    assert parsed.records_total == len(lines)
    sessions = parsed.tables["flexlm_sessions"]
    assert len(sessions) == 25_000
    assert {row["end_reason"] for row in sessions} == {"checkin"}
    assert {row["duration_seconds"] for row in sessions} == {1.0}
    assert parsed.notes["unmatched_checkins"] == 0
