"""Parse FlexNet Publisher (FlexLM) lmgrd and vendor-daemon debug logs.

A debug log line is `H:MM:SS (daemon) message`, with the hour space-padded below 10 and no date.
Dates come from anchors: `TIMESTAMP M/D/YYYY`, the start banner `... started on HOST (...)
(M/D/YYYY)` and `Server's System Date and Time: Wed Mar 30 2016 01:56:00 ...`. Between anchors
the clock is followed line by line and a step back of more than 12 hours starts a new day.

Every non-blank line lands in exactly one place: `flexlm_events` (OUT, IN, DENIED, UNSUPPORTED,
QUEUED, DEQUEUED), `flexlm_server_events` (lifecycle, SLOG and informational lines) or the
rejects. A line that starts with a usage verb but does not parse, a clock time that does not
exist (`99:99:99`), a checkout of 0 licences and a line over MAX_LINE_CHARS are rejected. Sessions
are rebuilt by matching each IN to the oldest open OUT with the same daemon, feature, user, host
and token product. The file is read line by line with a cap on line length, so memory grows with
the rows emitted and the open sessions, not with line length or file size.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from licpipe.connectors.base import ParsedFile, SourceFileError
from licpipe.connectors.text_lines import iter_text_lines, too_long_reason

logger = logging.getLogger(__name__)

SCHEMAS: dict[str, dict[str, str]] = {
    "flexlm_events": {
        "event_at": "TIMESTAMP",
        "event_type": "VARCHAR",
        "daemon": "VARCHAR",
        "daemon_raw": "VARCHAR",
        "server": "VARCHAR",
        "feature": "VARCHAR",
        "user_name": "VARCHAR",
        "host": "VARCHAR",
        "seats": "INTEGER",
        "token_product": "VARCHAR",
        "flag": "VARCHAR",
        "reason": "VARCHAR",
        "error_code": "VARCHAR",
        "os_error": "VARCHAR",
        "request_detail": "VARCHAR",
        "verbose_detail": "VARCHAR",
        "date_source": "VARCHAR",
    },
    "flexlm_sessions": {
        "server": "VARCHAR",
        "daemon": "VARCHAR",
        "feature": "VARCHAR",
        "user_name": "VARCHAR",
        "host": "VARCHAR",
        "token_product": "VARCHAR",
        "seats": "INTEGER",
        "checkout_at": "TIMESTAMP",
        "checkin_at": "TIMESTAMP",
        "duration_seconds": "DOUBLE",
        "end_reason": "VARCHAR",
        "is_component_of_suite": "BOOLEAN",
        "suite_feature": "VARCHAR",
        "checkin_line_number": "INTEGER",
    },
    "flexlm_server_events": {
        "event_at": "TIMESTAMP",
        "server": "VARCHAR",
        "daemon": "VARCHAR",
        "daemon_raw": "VARCHAR",
        "event_type": "VARCHAR",
        "message": "VARCHAR",
        "date_source": "VARCHAR",
    },
}

# A step back of more than this on any line means midnight has passed. Shorter steps (a DST
# fall-back of 1 h, lmgrd and vendor lines written a few seconds out of order) keep the date.
ROLLOVER_BACKSTEP_SECONDS = 12 * 3600

_TIMED_LINE = re.compile(r"^\s*(\d{1,2}):(\d{2}):(\d{2})\s+\(([^()\s]+)\)\s?(.*)$")
# `(@MSC-INFO@)    16:12:08 (MSC) text`: some daemons write a tag before the time.
_TAGGED_LINE = re.compile(
    r"^\s*(\(@[^@\s]+@\))\s+(\d{1,2}):(\d{2}):(\d{2})\s+\(([^()\s]+)\)\s?(.*)$"
)
_FORKED_DAEMON = re.compile(r"^(.+?)_\d+$")

_TIMESTAMP = re.compile(r"^TIMESTAMP\s+(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_BANNER = re.compile(
    r"^(?:FlexNet|FLEXnet|FLEXlm|Flexible)\b.*?\bLicensing\b.*?\bstarted on (\S+)"
    r".*\((\d{1,2})/(\d{1,2})/(\d{4})\)\s*$",
    re.IGNORECASE,
)
_SYSTEM_DATE = re.compile(
    r"^Server's System Date and Time:\s+\w+\s+([A-Za-z]{3})\w*\s+(\d{1,2})\s+(\d{4})\s"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}

_USAGE_VERB = re.compile(r"^(OUT|IN|DENIED|UNSUPPORTED|QUEUED|DEQUEUED)( server died)?:")
_USAGE = re.compile(
    r"^(OUT|IN|DENIED|UNSUPPORTED|QUEUED|DEQUEUED)( server died)?:\s*"
    r'(?:"([^"]*)"|(\S+))\s*(.*)$'
)
# The shape each usage verb is written in, quoted in reject reasons.
USAGE_SHAPES = {
    "OUT": 'OUT: "FEATURE" user@host',
    "IN": 'IN: "FEATURE" user@host',
    "DENIED": 'DENIED: "FEATURE" user@host (reason)',
    "UNSUPPORTED": 'UNSUPPORTED: "FEATURE" (KEY or PORT_AT_HOST_PLUS) user@host (reason)',
    "QUEUED": 'QUEUED: "FEATURE" user@host',
    "DEQUEUED": 'DEQUEUED: "FEATURE" user@host',
}
_SEATS = re.compile(r"^(\d+) licenses?$")
_ERROR_CODE = re.compile(r"\((-?\d+,-?\d+)(?::(\d+)\s*(\"[^\"]*\")?)?\)\s*$")

_VENDOR_STARTED = re.compile(r"^Server started on (\S+)")
_LMGRD_STARTED_VD = re.compile(r"^Started (\S+) \(")
_LMGRD_RESTARTED_VD = re.compile(r"^REStarted (\S+)")
_LMGRD_SHUTTING_DOWN_VD = re.compile(r"^Shutting down (\S+)")
_LMGRD_VD_EXITED = re.compile(r"^(\S+) exited with status")

UNDATED_REASON = (
    "no date is known for this time-only line because the file has no TIMESTAMP, start banner or "
    '"Server\'s System Date and Time" line; pass --log-date YYYY-MM-DD with the date of the '
    "file's first line"
)


def detect(path: Path, head: str) -> bool:
    """Return True when the head looks like a debug log: mostly `H:MM:SS (daemon) ...` lines."""
    lines = [line for line in head.lstrip("\ufeff").splitlines() if line.strip()][:50]
    if not lines:
        return False
    if lines[0].lstrip().startswith(("lmutil", "lmstat", "Flexible License Manager status")):
        return False
    timed = sum(1 for line in lines if _TIMED_LINE.match(line) or _TAGGED_LINE.match(line))
    return timed >= max(1, len(lines) // 2)


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, decoded text) for each line within the length cap."""
    for line in iter_text_lines(path):
        if not line.too_long:
            yield line.number, line.text


@dataclass(frozen=True)
class _Line:
    """One line split into its clock time (seconds after midnight), daemon and message."""

    seconds: int | None
    daemon_raw: str | None
    message: str
    tag: str | None = None
    # The clock text when its hours, minutes or seconds are out of range, and `seconds` is None.
    invalid_clock: str | None = None


def _clock_seconds(hours: str, minutes: str, seconds: str) -> int | None:
    """Return seconds after midnight, or None for a time that does not exist such as 24:00:00."""
    if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 59:
        return None
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds)


def _split_line(text: str) -> _Line:
    tag = None
    match = _TIMED_LINE.match(text)
    if match:
        hours, minutes, seconds, daemon_raw, message = match.groups()
    else:
        match = _TAGGED_LINE.match(text)
        if not match:
            return _Line(None, None, text.strip())
        tag, hours, minutes, seconds, daemon_raw, message = match.groups()
    clock = _clock_seconds(hours, minutes, seconds)
    invalid = None if clock is not None else f"{hours}:{minutes}:{seconds}"
    return _Line(clock, daemon_raw, message, tag, invalid)


def normalise_daemon(daemon_raw: str) -> str:
    """Map a forked vendor daemon `acmed_1` to `acmed`; other names are returned unchanged."""
    match = _FORKED_DAEMON.match(daemon_raw)
    return match.group(1) if match else daemon_raw


def anchor_date(message: str) -> tuple[date, str] | None:
    """Return (date, date_source) when the message carries a date, else None.

    The sources are `timestamp` for `TIMESTAMP M/D/YYYY` and `banner` for the start banner
    `(M/D/YYYY)` and the `Server's System Date and Time` line. An impossible date is ignored.
    """
    try:
        match = _TIMESTAMP.match(message)
        if match:
            month, day, year = (int(part) for part in match.groups())
            return date(year, month, day), "timestamp"
        match = _BANNER.match(message)
        if match:
            month, day, year = (int(part) for part in match.groups()[1:])
            return date(year, month, day), "banner"
        match = _SYSTEM_DATE.match(message)
        if match:
            month = _MONTHS.get(match.group(1).lower())
            if month is not None:
                return date(int(match.group(3)), month, int(match.group(2))), "banner"
    except ValueError:
        return None
    return None


class _Clock:
    """Running date for time-only lines: the latest anchor, plus a day per long step back."""

    def __init__(self, start: date | None, source: str | None) -> None:
        self.day = start
        self.source = source
        self.previous_seconds: int | None = None
        self.last_at: datetime | None = None

    def anchor(self, day: date, seconds: int, source: str) -> datetime:
        self.day = day
        self.source = source
        self.previous_seconds = seconds
        self.last_at = datetime.combine(day, time()) + timedelta(seconds=seconds)
        return self.last_at

    def advance(self, seconds: int) -> datetime | None:
        back_step = (self.previous_seconds or 0) - seconds
        if self.previous_seconds is not None and back_step > ROLLOVER_BACKSTEP_SECONDS:
            if self.day is not None:
                self.day += timedelta(days=1)
                self.source = "rollover"
        self.previous_seconds = seconds
        if self.day is None:
            return None
        self.last_at = datetime.combine(self.day, time()) + timedelta(seconds=seconds)
        return self.last_at


def first_line_date(path: Path) -> date | None:
    """Return the date of the first timed line, counted back from the first anchor, or None.

    Reads only up to the first anchor. Each step back of more than 12 hours before (or at) the
    anchor is a midnight, so the first line's date is the anchor date minus that many days.
    """
    previous: int | None = None
    rollovers = 0
    for _, text in iter_lines(path):
        line = _split_line(text)
        if line.seconds is None:
            continue
        if previous is not None and previous - line.seconds > ROLLOVER_BACKSTEP_SECONDS:
            rollovers += 1
        previous = line.seconds
        found = anchor_date(line.message)
        if found is not None:
            return found[0] - timedelta(days=rollovers)
    return None


def _strip_trailing_group(text: str) -> tuple[str, str] | None:
    """Split a balanced `(...)` or `[...]` group off the end of text, or return None."""
    text = text.rstrip()
    if not text or text[-1] not in ")]":
        return None
    closer = text[-1]
    opener = "(" if closer == ")" else "["
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        char = text[index]
        if char == closer:
            depth += 1
        elif char == opener:
            depth -= 1
            if depth == 0:
                return text[:index].rstrip(), text[index:]
    return None


def _parse_reason(group: str, fields: dict[str, Any]) -> None:
    """Store a `(reason text (-4,342:10054 ""))` group as reason, error_code and os_error."""
    inner = group[1:-1].strip()
    match = _ERROR_CODE.search(inner)
    if match:
        fields["error_code"] = match.group(1)
        if match.group(2):
            quoted = (match.group(3) or '""').strip('"')
            fields["os_error"] = f"{match.group(2)} {quoted}".strip()
        inner = inner[: match.start()].rstrip()
    fields["reason"] = inner or None


def parse_usage(message: str) -> dict[str, Any] | str:
    """Parse an OUT/IN/DENIED/UNSUPPORTED/QUEUED/DEQUEUED message into event fields.

    Returns the fields, or a string saying why the message does not fit. The user is whatever
    precedes the LAST `@` once the trailing groups are removed, because client login names can
    contain spaces, dots and non-ASCII letters.
    """
    match = _USAGE.match(message)
    if not match:
        verb = _USAGE_VERB.match(message)
        return f"{verb.group(1)} line has no feature name" if verb else "not a usage message"
    event_type, server_died, quoted_feature, bare_feature, rest = match.groups()
    fields: dict[str, Any] = {
        "event_type": event_type,
        "feature": quoted_feature if quoted_feature is not None else bare_feature,
        "seats": 1,
        "token_product": None,
        "flag": "server_died" if server_died else None,
        "reason": None,
        "error_code": None,
        "os_error": None,
        "request_detail": None,
        "verbose_detail": None,
    }

    if "^^^" in rest:
        rest, _, verbose = rest.partition("^^^")
        fields["verbose_detail"] = verbose.replace("^^^", "").strip() or None

    # UNSUPPORTED puts a hex key or `PORT_AT_HOST_PLUS` group between the feature and the user.
    rest = rest.strip()
    if rest.startswith("("):
        closing = rest.find(")")
        if closing > 0 and "@" in rest[closing:]:
            fields["request_detail"] = rest[1:closing].strip() or None
            rest = rest[closing + 1 :].strip()

    while True:
        split = _strip_trailing_group(rest)
        if split is None:
            break
        rest, group = split
        inner = group[1:-1].strip()
        seats = _SEATS.match(inner)
        if group.startswith("["):
            fields["token_product"] = inner
        elif seats:
            fields["seats"] = int(seats.group(1))
        elif inner in ("INACTIVE", "SHUTDOWN"):
            fields["flag"] = inner
        else:
            _parse_reason(group, fields)

    user, at, host = rest.strip().rpartition("@")
    if not at or not user.strip() or not host.strip() or " " in host.strip():
        return f"{event_type} line has no user@host after the feature name"
    fields["user_name"] = user.strip()
    fields["host"] = host.strip()
    if fields["feature"] == "":
        return f"{event_type} line has an empty feature name"
    if fields["seats"] < 1:
        count = fields["seats"]
        return f"{event_type} line counts {count} licenses, and a usage event needs 1 or more"
    return fields


def classify_server_message(line: _Line) -> tuple[str, str | None]:
    """Return (event_type, affected daemon) for a lifecycle or informational message.

    The affected daemon is the vendor daemon whose sessions the line ends (`*` for all of them)
    or starts afresh, and None when the line changes no session.
    """
    message = line.message
    daemon = normalise_daemon(line.daemon_raw) if line.daemon_raw else None
    if line.tag and "SLOG" in line.tag:
        return "slog", None
    if message.startswith("(@") and "-SLOG@)" in message.split(" ", 1)[0]:
        return "slog", None
    if message.startswith("SLOG:"):
        return "slog", None
    if line.tag:
        return "info", None
    if _TIMESTAMP.match(message):
        return "timestamp", None
    if _BANNER.match(message):
        return "start", "*"
    if message.startswith("Server's System Date and Time"):
        return "start", None
    if match := _VENDOR_STARTED.match(message):
        return "start", daemon
    if daemon == "lmgrd" and (match := _LMGRD_RESTARTED_VD.match(message)):
        return "restart", normalise_daemon(match.group(1))
    if daemon == "lmgrd" and (match := _LMGRD_STARTED_VD.match(message)):
        return "start", None
    if message.startswith("SHUTDOWN request"):
        return "shutdown", "*"
    if daemon == "lmgrd" and (match := _LMGRD_SHUTTING_DOWN_VD.match(message)):
        return "shutdown", normalise_daemon(match.group(1))
    if line.seconds is None and message.lower().startswith("shut down "):
        return "shutdown", "*"
    if message.startswith("Lost connection to lmgrd"):
        return "lost_connection", daemon
    if message.startswith("EXITING"):
        return "exit", "*" if daemon == "lmgrd" else daemon
    if daemon == "lmgrd" and (match := _LMGRD_VD_EXITED.match(message)):
        return "exit", normalise_daemon(match.group(1))
    lowered = message.lower()
    if "rereading" in lowered or "reread" in lowered:
        return "reread", None
    return "info", None


@dataclass
class _OpenSession:
    row: dict[str, Any]


class _SessionBook:
    """Open checkouts per (daemon, feature, user, host, token product), matched first in first out.

    A shutdown request or `Shutting down <daemon>` is held as pending, because the daemon still
    writes its `(SHUTDOWN)` check-ins after it. The pending time then closes what is left when
    the daemon exits, restarts or the file ends.
    """

    def __init__(self, parsed: ParsedFile) -> None:
        self.parsed = parsed
        self.open: dict[tuple, deque[_OpenSession]] = {}
        self.pending_exit: dict[str, datetime | None] = {}
        self.unmatched_checkins = 0
        self.clamped_durations = 0
        self.last_out: dict[str, Any] | None = None
        # daemon -> component feature -> suite feature, from `SUITE (consisting of: A B C)`.
        self.suite_parts: dict[str, dict[str, str]] = {}

    def _suite_of(self, event: dict[str, Any]) -> tuple[bool, str | None]:
        """Return (is_component_of_suite, suite feature) for an OUT event.

        A component is an OUT by the same user@host in the same second as the OUT just before
        it, of the suite whose start-up feature list contains it.
        """
        previous = self.last_out
        same_moment = (
            previous is not None
            and previous["event_at"] == event["event_at"]
            and previous["daemon"] == event["daemon"]
            and previous["user_name"] == event["user_name"]
            and previous["host"] == event["host"]
            and previous["feature"] != event["feature"]
        )
        if not same_moment:
            return False, None
        parts = self.suite_parts.get(event["daemon"])
        if parts:
            suite = parts.get(event["feature"])
            return (True, suite) if suite == previous["feature"] else (False, None)
        if previous["is_component"]:
            return False, None
        # NOTE: without a `(consisting of: ...)` list in the log, a second OUT by the same
        # user@host in the same second is taken as a component of the first, so two
        # independent features checked out in one second are flagged too.
        return True, previous["feature"]

    def check_out(self, event: dict[str, Any], server: str | None) -> None:
        self._apply_pending(event["daemon"], event["event_at"])
        is_component, suite_feature = self._suite_of(event)
        self.last_out = {**event, "is_component": is_component}
        row = {
            "server": server,
            "daemon": event["daemon"],
            "feature": event["feature"],
            "user_name": event["user_name"],
            "host": event["host"],
            "token_product": event["token_product"],
            "seats": event["seats"],
            "checkout_at": event["event_at"],
            "checkin_at": None,
            "duration_seconds": None,
            "end_reason": "open_at_end_of_file",
            "is_component_of_suite": is_component,
            "suite_feature": suite_feature,
            "checkin_line_number": None,
            "_line_number": event["_line_number"],
        }
        self.open.setdefault(self._key(event), deque()).append(_OpenSession(row))

    def check_in(self, event: dict[str, Any]) -> None:
        queue = self.open.get(self._key(event))
        if not queue:
            self.unmatched_checkins += 1
            return
        chosen = next((s for s in queue if s.row["seats"] == event["seats"]), queue[0])
        queue.remove(chosen)
        flag = event["flag"]
        reason = {"INACTIVE": "inactive", "SHUTDOWN": "shutdown", "server_died": "server_died"}
        self._close(chosen, event["event_at"], reason.get(flag, "checkin"), event["_line_number"])

    def end_daemon(self, daemon: str, at: datetime | None, reason: str, line_number: int) -> None:
        """Close the open sessions of one daemon (`*` for all) at a lifecycle line."""
        if reason == "restart":
            pending = self._pending_for(daemon)
            if pending is not None:
                at, reason = pending, "daemon_exit"
        for key in list(self.open):
            if daemon != "*" and key[0] != daemon:
                continue
            for session in self.open.pop(key):
                self._close(session, at, reason, line_number)
        self._clear_pending(daemon)

    def hold_exit(self, daemon: str, at: datetime | None) -> None:
        self.pending_exit.setdefault(daemon, at)

    def finish(self) -> None:
        """Close what is still open at the end of the file: pending exits first, then the rest."""
        for daemon, at in list(self.pending_exit.items()):
            self.end_daemon(daemon, at, "daemon_exit", 0)
        for key in list(self.open):
            for session in self.open.pop(key):
                self.parsed.add_row("flexlm_sessions", session.row)

    def _pending_for(self, daemon: str) -> datetime | None:
        if daemon in self.pending_exit:
            return self.pending_exit[daemon]
        return self.pending_exit.get("*")

    def _clear_pending(self, daemon: str) -> None:
        if daemon == "*":
            self.pending_exit.clear()
        else:
            self.pending_exit.pop(daemon, None)

    def _apply_pending(self, daemon: str, at: datetime | None) -> None:
        if daemon in self.pending_exit or "*" in self.pending_exit:
            pending = self._pending_for(daemon)
            scope = daemon if daemon in self.pending_exit else "*"
            self.end_daemon(scope, pending or at, "daemon_exit", 0)

    def _close(
        self, session: _OpenSession, at: datetime | None, reason: str, line_number: int
    ) -> None:
        row = session.row
        row["checkin_at"] = at
        row["end_reason"] = reason
        row["checkin_line_number"] = line_number or None
        if at is not None and row["checkout_at"] is not None:
            seconds = (at - row["checkout_at"]).total_seconds()
            if seconds < 0:
                # NOTE: server local time steps back at a DST fall-back, so a session spanning
                # it can end "before" it started. Its duration is stored as 0, not negative.
                self.clamped_durations += 1
                seconds = 0.0
            row["duration_seconds"] = seconds
        self.parsed.add_row("flexlm_sessions", row)

    @staticmethod
    def _key(event: dict[str, Any]) -> tuple:
        return (
            event["daemon"],
            event["feature"],
            event["user_name"],
            event["host"],
            event["token_product"],
        )


class _LogParser:
    """State for one pass over a debug log: the clock, the current server and open sessions."""

    def __init__(self, path: Path, start: date | None, start_source: str | None) -> None:
        self.path = path
        self.parsed = ParsedFile(tables={name: [] for name in SCHEMAS})
        self.clock = _Clock(start, start_source)
        self.sessions = _SessionBook(self.parsed)
        self.server: str | None = None
        self.blank_lines = 0
        self.undated_lines = 0
        self.dated_lines = 0
        self.reject_reasons: dict[str, int] = {}
        # (daemon, suite, component tokens) while a `(consisting of:` list spans lines.
        self.suite_list: tuple[str, str, list[str]] | None = None

    def feed(self, line_number: int, text: str) -> None:
        if not text.strip():
            self.blank_lines += 1
            return
        self.parsed.records_total += 1
        line = _split_line(text)
        if line.invalid_clock is not None:
            reason = (
                f"invalid clock time {line.invalid_clock}; expected H:MM:SS with hours 0-23 and "
                "minutes and seconds 0-59"
            )
            self._reject(line_number, reason, text)
            return

        if line.seconds is None:
            self._land_untimed(line_number, line)
            return

        found = anchor_date(line.message)
        if found is not None:
            event_at: datetime | None = self.clock.anchor(found[0], line.seconds, found[1])
        else:
            event_at = self.clock.advance(line.seconds)
        if event_at is None:
            self.undated_lines += 1
            self._reject(line_number, UNDATED_REASON, text)
            return
        self.dated_lines += 1

        daemon_raw = line.daemon_raw or ""
        if line.tag is None and _USAGE_VERB.match(line.message):
            self._land_usage(line_number, line, daemon_raw, event_at, text)
            return
        self._land_server_event(line_number, line, event_at)

    def feed_too_long(self, line_number: int, length: int, start: str) -> None:
        """Reject a line over MAX_LINE_CHARS, keeping its start as the raw text."""
        self.parsed.records_total += 1
        self._reject(line_number, too_long_reason(length), start)

    def _land_usage(
        self, line_number: int, line: _Line, daemon_raw: str, event_at: datetime, text: str
    ) -> None:
        fields = parse_usage(line.message)
        if isinstance(fields, str):
            verb = _USAGE_VERB.match(line.message).group(1)
            self._reject(line_number, f"{fields}; expected '{USAGE_SHAPES[verb]}'", text)
            return
        event = {
            "event_at": event_at,
            "daemon": normalise_daemon(daemon_raw),
            "daemon_raw": daemon_raw,
            "server": self.server,
            **fields,
            "date_source": self.clock.source,
            "_line_number": line_number,
        }
        self.parsed.add_row("flexlm_events", event)
        if event["event_type"] == "OUT":
            self.sessions.check_out(event, self.server)
        elif event["event_type"] == "IN":
            self.sessions.check_in(event)

    def _land_server_event(self, line_number: int, line: _Line, event_at: datetime | None) -> None:
        event_type, affected = classify_server_message(line)
        banner = _BANNER.match(line.message)
        if banner:
            self.server = banner.group(1)
        elif self.server is None and (started := _VENDOR_STARTED.match(line.message)):
            self.server = started.group(1)

        if affected is not None:
            self._apply_lifecycle(event_type, affected, event_at, line_number)

        if event_type == "info" and line.daemon_raw:
            self._collect_suite_parts(normalise_daemon(line.daemon_raw), line.message)

        message = f"{line.tag} {line.message}" if line.tag else line.message
        self.parsed.add_row(
            "flexlm_server_events",
            {
                "event_at": event_at,
                "server": self.server,
                "daemon": normalise_daemon(line.daemon_raw) if line.daemon_raw else None,
                "daemon_raw": line.daemon_raw,
                "event_type": event_type,
                "message": message,
                "date_source": self.clock.source if event_at is not None else None,
                "_line_number": line_number,
            },
        )

    def _apply_lifecycle(
        self, event_type: str, daemon: str, at: datetime | None, line_number: int
    ) -> None:
        if event_type in ("start", "restart"):
            self.sessions.end_daemon(daemon, at, "restart", line_number)
        elif event_type == "shutdown":
            self.sessions.hold_exit(daemon, at)
        elif event_type in ("exit", "lost_connection"):
            self.sessions.end_daemon(daemon, at, "daemon_exit", line_number)

    def _collect_suite_parts(self, daemon: str, message: str) -> None:
        """Read `SUITE (consisting of: A B ...)` from the start-up feature list of a daemon."""
        text = message
        if self.suite_list is None or self.suite_list[0] != daemon:
            self.suite_list = None
            head, marker, text = message.partition("(consisting of:")
            if not marker or not head.split():
                return
            self.suite_list = (daemon, head.split()[-1], [])
        _, suite, parts = self.suite_list
        inside, closed, _ = text.partition(")")
        parts.extend(inside.split())
        if closed:
            book = self.sessions.suite_parts.setdefault(daemon, {})
            for part in parts:
                book[part] = suite
            self.suite_list = None

    def _land_untimed(self, line_number: int, line: _Line) -> None:
        """Land a line with no leading time (continuation, free text) at the last known time."""
        self._land_server_event(line_number, line, self.clock.last_at)

    def _reject(self, line_number: int, reason: str, text: str) -> None:
        self.parsed.reject(line_number, reason, text)
        key = reason.split(";", 1)[0]
        self.reject_reasons[key] = self.reject_reasons.get(key, 0) + 1

    def finish(self) -> ParsedFile:
        self.sessions.finish()
        parsed = self.parsed
        parsed.notes.update(
            {
                "blank_lines": self.blank_lines,
                "undated_lines": self.undated_lines,
                "unmatched_checkins": self.sessions.unmatched_checkins,
                "clamped_durations": self.sessions.clamped_durations,
                "reject_reasons": dict(self.reject_reasons),
            }
        )
        return parsed


def parse_file(path: Path, *, log_date: date | None = None) -> ParsedFile:
    """Parse one debug log into events, sessions, server events and rejects.

    Lines before the first date anchor take their date from that anchor, counting each long step
    back before it as a midnight. `log_date` (the date of the file's first line) is used only
    when the file has no anchor at all. Raises SourceFileError when no timed line can be dated.
    """
    if not path.exists():
        raise SourceFileError(f"{path}: file not found. Check the landing folder path.")
    start = first_line_date(path)
    source = "next_anchor"
    if start is None and log_date is not None:
        start, source = log_date, "log_date"
    elif start is not None and log_date is not None and start != log_date:
        logger.warning(
            "%s: --log-date %s ignored because the file's own anchors date its first line %s",
            path,
            log_date,
            start,
        )

    parser = _LogParser(path, start, source if start is not None else None)
    for line in iter_text_lines(path):
        if line.too_long:
            parser.feed_too_long(line.number, line.length, line.text)
        else:
            parser.feed(line.number, line.text)
    parsed = parser.finish()

    if parsed.records_total == 0:
        raise SourceFileError(
            f"{path}: the file is empty. Re-export the debug log or remove it from the landing folder."
        )
    if parser.dated_lines == 0 and parser.undated_lines > 0:
        raise SourceFileError(
            f"{path}: none of its {parser.undated_lines} time-only lines can be dated because the "
            'file has no TIMESTAMP, start banner or "Server\'s System Date and Time" line. '
            "Pass --log-date YYYY-MM-DD with the date of the file's first line."
        )
    logger.info(
        "%s: %d events, %d sessions, %d server events, %d rejected, %d blank lines",
        path,
        len(parsed.tables["flexlm_events"]),
        len(parsed.tables["flexlm_sessions"]),
        len(parsed.tables["flexlm_server_events"]),
        len(parsed.rejects),
        parser.blank_lines,
    )
    return parsed
