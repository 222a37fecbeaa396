"""Parse `lmutil lmstat -a` status snapshots and `lmutil lmstat -i` feature listings.

`lmstat -a` lists, per license server and vendor, each feature's issued and in-use counts
(`Users of F:  (Total of 10 licenses issued;  Total of 7 licenses in use)`) and one line per
checkout, reservation or queued request. lmstat counts reservations as in use even when nobody
holds them, so every line keeps its kind. Each feature row also stores the seats its lines add
up to per kind, and `counts_match` tells whether checkouts plus reservations equal lmstat's
in-use total. Start times carry no year: the snapshot date supplies it, and a start later than
the snapshot belongs to the year before.

`lmstat -i` is a table whose column order depends on the lmutil build, so the order is read from
each header line. `permanent(no expiration date)`, `permanent` and the year-0 dates `1-jan-0` and
`01-jan-0000` all mean the licence never expires.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from licpipe.connectors.base import ParsedFile, SourceFileError
from licpipe.connectors.text_lines import iter_text_lines, too_long_reason

logger = logging.getLogger(__name__)

SCHEMAS: dict[str, dict[str, str]] = {
    "lmstat_features": {
        "snapshot_at": "TIMESTAMP",
        "server": "VARCHAR",
        "vendor": "VARCHAR",
        "feature": "VARCHAR",
        "issued": "INTEGER",
        "in_use": "INTEGER",
        "is_uncounted": "BOOLEAN",
        "version": "VARCHAR",
        "expires": "DATE",
        "seats_checked_out": "INTEGER",
        "seats_reserved": "INTEGER",
        "seats_queued": "INTEGER",
        "counts_match": "BOOLEAN",
    },
    "lmstat_checkouts": {
        "snapshot_at": "TIMESTAMP",
        "server": "VARCHAR",
        "vendor": "VARCHAR",
        "feature": "VARCHAR",
        "user_name": "VARCHAR",
        "host": "VARCHAR",
        "display": "VARCHAR",
        "version": "VARCHAR",
        "server_port": "VARCHAR",
        "handle": "VARCHAR",
        "start_at": "TIMESTAMP",
        "seats": "INTEGER",
        "kind": "VARCHAR",
        "linger_seconds": "INTEGER",
        "linger_detail": "VARCHAR",
        "reserved_for_type": "VARCHAR",
        "reserved_for": "VARCHAR",
    },
    "lmstat_entitlements": {
        "server": "VARCHAR",
        "section": "INTEGER",
        "feature": "VARCHAR",
        "version": "VARCHAR",
        "seats": "INTEGER",
        "expires": "DATE",
        "is_permanent": "BOOLEAN",
        "vendor": "VARCHAR",
        "expires_raw": "VARCHAR",
    },
}

_STATUS_HEADER = re.compile(
    r"Flexible License Manager status on\s+\w+\s+(\d{1,2})/(\d{1,2})/(\d{4})\s+"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?"
)
_SERVER_STATUS = re.compile(r"^\s*License server status:\s*(\S+)")
_VENDOR_STATUS = re.compile(r"^\s*([A-Za-z0-9_.-]+): (?:UP|DOWN|The desired vendor daemon is down)")
_USERS_OF = re.compile(r'^Users of (?:"([^"]+)"|([^:]+)):\s*\((.*)\)\s*$')
_TOTALS = re.compile(
    r"Total of (\d+) licenses? issued;\s*Total of (\d+) licenses? in use", re.IGNORECASE
)
_FEATURE_INFO = re.compile(r'^\s*"([^"]+)" v(\S+), vendor: ([^,\s]+)(?:, expiry: (.+?))?\s*$')
_RESERVATION = re.compile(
    r"^\s*(\d+) RESERVATIONs? for (\S+) (.+?) \(([^/()\s]+)/(\d+)\)\s*$", re.IGNORECASE
)
_CHECKOUT = re.compile(
    r"^\s+(?P<prefix>\S.*?) \(v(?P<version>[^)]*)\) "
    r"\((?P<server>[^/()\s]+)/(?P<port>\d+)(?: (?P<handle>\d+))?\)(?P<tail>.*)$"
)
_START = re.compile(r"start \w+ (\d{1,2})/(\d{1,2}) (\d{1,2}):(\d{2})")
_CHECKOUT_SEATS = re.compile(r",\s*(\d+) licenses?\b")
_QUEUED = re.compile(r"queued for (\d+) licenses?", re.IGNORECASE)
_LINGER = re.compile(r"\(linger:\s*(\d+)\s*/\s*(\d+)\s*\)")
# Lines inside a usage block that describe the feature and hold no checkout.
_BLOCK_INFO_PREFIXES = (
    "floating license",
    "nodelocked license",
    "uncounted nodelocked license",
    "vendor_string:",
)
# A token that can be a host name. Any other token belongs to the `display` field, which some
# clients fill with unprintable bytes.
_HOST_TOKEN = re.compile(r"^[A-Za-z0-9_.:-]+$")
_DOTTED_NUMBER = re.compile(r"^\d+(?:\.\d+)+$")

_TABLE_TOKEN = re.compile(r'"[^"]*"|permanent\([^)]*\)|\S+', re.IGNORECASE)
_PERMANENT = {"permanent", "permanent(no expiration date)"}
_EXPIRY = re.compile(r"^(\d{1,2})-([A-Za-z]{3})-(\d{1,4})$")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_COLUMN_NAMES = {
    "feature": "feature",
    "version": "version",
    "#licenses": "seats",
    "licenses": "seats",
    "expires": "expires",
    "expiry": "expires",
    "vendor": "vendor",
}


def detect(path: Path, head: str) -> bool:
    """Return True for `lmstat`/`lmutil` output or an `lmstat -i` feature table."""
    for line in head.lstrip("\ufeff").splitlines()[:40]:
        stripped = line.strip()
        if stripped.startswith(("lmutil - Copyright", "lmstat - Copyright")):
            return True
        if "Flexible License Manager status" in stripped:
            return True
        if _table_columns(stripped) is not None:
            return True
    return False


def parse_expiry(raw: str) -> tuple[date | None, bool]:
    """Parse an lmstat expiry such as `30-apr-2025`, returning (date, is_permanent).

    Permanent sentinels give (None, True). Raises ValueError naming the value otherwise.
    """
    text = raw.strip()
    if text.lower() in _PERMANENT:
        return None, True
    match = _EXPIRY.match(text)
    if not match:
        raise ValueError(f"expiry {raw!r} is not D-mon-YYYY or a permanent sentinel")
    day, month_name, year = int(match.group(1)), match.group(2).lower(), int(match.group(3))
    if year == 0:
        return None, True
    month = _MONTHS.get(month_name)
    if month is None or year < 1000:
        raise ValueError(f"expiry {raw!r} has an unknown month or a year below 1000")
    return date(year, month, day), False


def _table_columns(line: str) -> list[str] | None:
    """Return the normalised column names of an `lmstat -i` header line, or None."""
    tokens = line.split()
    if len(tokens) < 3 or tokens[0] != "Feature" or "#licenses" not in tokens:
        return None
    return [_COLUMN_NAMES.get(token.lower(), token.lower()) for token in tokens]


def split_user_host_display(prefix: str) -> tuple[str, str | None, str | None]:
    """Split the `user host display` part of a checkout line.

    User names can contain spaces (`John Doe`), and the display can be unprintable bytes with
    spaces. So the host is the token just before the first token that cannot be a host name, or
    the second-to-last token when every token can be one.
    """
    tokens = prefix.split()
    if len(tokens) == 1:
        return tokens[0], None, None
    if len(tokens) == 2:
        return tokens[0], tokens[1], None
    first_odd = next(
        (
            index
            for index in range(2, len(tokens))
            if not tokens[index].startswith("/dev/") and not _HOST_TOKEN.match(tokens[index])
        ),
        None,
    )
    if first_odd is not None:
        return (
            " ".join(tokens[: first_odd - 1]),
            tokens[first_odd - 1],
            " ".join(tokens[first_odd:]),
        )
    # NOTE: when every token can be a host name, a missing display and a two-word user cannot be
    # distinguished, so the last token is read as the display.
    return " ".join(tokens[:-2]), tokens[-2], tokens[-1]


def resolve_start(month: int, day: int, hour: int, minute: int, snapshot: datetime) -> datetime:
    """Give a year-less start the snapshot's year, or the year before if it would be later."""
    start = datetime(snapshot.year, month, day, hour, minute)
    if start.date() > snapshot.date():
        start = datetime(snapshot.year - 1, month, day, hour, minute)
    return start


@dataclass
class _Block:
    """The `Users of` block being read: its feature row and the rows of its lines."""

    feature_row: dict[str, Any]
    checkouts: list[dict[str, Any]] = field(default_factory=list)


class _StatusParser:
    """State for one pass over an lmstat file: snapshot time, server, vendor and open block."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.parsed = ParsedFile(tables={name: [] for name in SCHEMAS})
        self.snapshot_at: datetime | None = None
        self.server: str | None = None
        self.vendors: list[str] = []
        self.block: _Block | None = None
        self.columns: list[str] | None = None
        self.section = 0
        self.ignored_lines = 0
        self.undated_starts = 0
        self.count_mismatches: list[str] = []

    def feed(self, line_number: int, line: str) -> None:
        stripped = line.strip()
        if not stripped:
            return

        if match := _STATUS_HEADER.search(stripped):
            self._set_snapshot(match)
            return
        if match := _SERVER_STATUS.match(line):
            self._close_block()
            self.server, self.vendors = match.group(1), []
            return
        if stripped.startswith("Vendor daemon status"):
            self._close_block()
            return
        if (columns := _table_columns(stripped)) is not None:
            self._close_block()
            self.columns, self.section = columns, self.section + 1
            return
        if match := _USERS_OF.match(stripped):
            self._open_block(line_number, line, match)
            return

        if self.block is not None:
            self._feed_block(line_number, line)
            return
        if self.columns is not None and not set(stripped) <= {"_", " ", "-"}:
            self._feed_table_row(line_number, line)
            return
        if match := _VENDOR_STATUS.match(line):
            self.vendors.append(match.group(1))
            return
        self.ignored_lines += 1

    def _set_snapshot(self, match: re.Match[str]) -> None:
        month, day, year, hour, minute, second = match.groups()
        self.snapshot_at = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0)
        )

    def _open_block(self, line_number: int, line: str, match: re.Match[str]) -> None:
        self._close_block()
        self.columns = None
        self.parsed.records_total += 1
        feature = match.group(1) or match.group(2).strip()
        detail = match.group(3)
        totals = _TOTALS.search(detail)
        is_uncounted = "uncounted" in detail.lower()
        if totals is None and not is_uncounted:
            self.parsed.reject(
                line_number,
                f"feature {feature!r}: usage counts {detail!r} are neither "
                "'Total of N licenses issued; Total of M licenses in use' nor 'Uncounted'",
                line,
            )
        row = {
            "snapshot_at": self.snapshot_at,
            "server": self.server,
            "vendor": self.vendors[0] if len(self.vendors) == 1 else None,
            "feature": feature,
            "issued": int(totals.group(1)) if totals else None,
            "in_use": int(totals.group(2)) if totals else None,
            "is_uncounted": is_uncounted,
            "version": None,
            "expires": None,
            "_line_number": line_number,
        }
        self.block = _Block(row if totals or is_uncounted else {})

    def _feed_block(self, line_number: int, line: str) -> None:
        stripped = line.strip()
        feature_row = self.block.feature_row
        if match := _FEATURE_INFO.match(line):
            if feature_row and feature_row["version"] is None:
                feature_row["vendor"] = match.group(3)
                feature_row["version"] = match.group(2)
                feature_row["expires"] = self._info_expiry(match.group(4))
            return
        if stripped.lower().startswith(_BLOCK_INFO_PREFIXES):
            return
        self.parsed.records_total += 1
        try:
            row = self._parse_usage_line(line)
        except ValueError as error:
            self.parsed.reject(line_number, f"{self._feature_name()}: {error}", line)
            return
        row["_line_number"] = line_number
        self.block.checkouts.append(row)

    def _feature_name(self) -> str:
        row = self.block.feature_row if self.block else {}
        return f"feature {row.get('feature')!r}" if row else "usage block"

    @staticmethod
    def _info_expiry(raw: str | None) -> date | None:
        if not raw:
            return None
        try:
            return parse_expiry(raw)[0]
        except ValueError:
            return None

    def _parse_usage_line(self, line: str) -> dict[str, Any]:
        row: dict[str, Any] = {
            "snapshot_at": self.snapshot_at,
            "server": self.server,
            "user_name": None,
            "host": None,
            "display": None,
            "version": None,
            "server_port": None,
            "handle": None,
            "start_at": None,
            "seats": 1,
            "linger_seconds": None,
            "linger_detail": None,
            "reserved_for_type": None,
            "reserved_for": None,
        }
        if match := _RESERVATION.match(line):
            seats, for_type, for_name, server, port = match.groups()
            row.update(
                kind="reservation",
                seats=int(seats),
                reserved_for_type=for_type.upper(),
                reserved_for=for_name,
                server_port=f"{server}/{port}",
            )
            return row

        match = _CHECKOUT.match(line)
        if match is None:
            raise ValueError(
                "line is not 'user host display (vVERSION) (server/port handle), start ...' "
                "nor 'N RESERVATIONs for TYPE NAME (server/port)'"
            )
        tail = match.group("tail")
        queued = _QUEUED.search(tail)
        if tail.strip() and not tail.lstrip().startswith(",") and queued is None:
            raise ValueError(
                f"unrecognised text {tail.strip()!r} after (server/port handle); expected "
                "', start DOW M/D H:MM' or 'queued for N licenses'"
            )
        prefix_tokens = match.group("prefix").split()
        if queued and len(prefix_tokens) > 3 and _DOTTED_NUMBER.match(prefix_tokens[-1]):
            # Queued requests carry an extra version or 0.0.0.0 address before `(vVER)`.
            prefix_tokens = prefix_tokens[:-1]
        user, host, display = split_user_host_display(" ".join(prefix_tokens))
        row.update(
            kind="queued" if queued else "checkout",
            user_name=user,
            host=host,
            display=display,
            version=match.group("version"),
            server_port=f"{match.group('server')}/{match.group('port')}",
            handle=match.group("handle"),
        )
        if queued:
            row["seats"] = int(queued.group(1))
        elif seats := _CHECKOUT_SEATS.search(tail):
            row["seats"] = int(seats.group(1))
        if linger := _LINGER.search(tail):
            row["linger_seconds"] = int(linger.group(1))
            row["linger_detail"] = f"{linger.group(1)} / {linger.group(2)}"
        if start := _START.search(tail):
            row["start_at"] = self._start_at(*(int(part) for part in start.groups()))
        return row

    def _start_at(self, month: int, day: int, hour: int, minute: int) -> datetime | None:
        if self.snapshot_at is None:
            self.undated_starts += 1
            return None
        try:
            return resolve_start(month, day, hour, minute, self.snapshot_at)
        except ValueError:
            raise ValueError(f"start date {month}/{day} is not a valid date") from None

    def _close_block(self) -> None:
        block, self.block = self.block, None
        if block is None or not block.feature_row:
            if block is not None:
                # The header was rejected: its lines still land, without the header's counts.
                for row in block.checkouts:
                    self.parsed.add_row(
                        "lmstat_checkouts", {"vendor": None, "feature": None, **row}
                    )
            return
        feature = block.feature_row
        if feature["server"] is None and block.checkouts:
            # Without a `License server status` line, the server is the one serving the lines.
            feature["server"] = block.checkouts[0]["server_port"].split("/", 1)[0]
        self._add_seat_sums(feature, block.checkouts)
        self.parsed.add_row("lmstat_features", feature)
        for row in block.checkouts:
            if row["server"] is None:
                row["server"] = feature["server"]
            self.parsed.add_row(
                "lmstat_checkouts",
                {"vendor": feature["vendor"], "feature": feature["feature"], **row},
            )

    def _add_seat_sums(self, feature: dict[str, Any], checkouts: list[dict[str, Any]]) -> None:
        """Store the seats per kind and whether checkouts plus reservations equal `in_use`.

        lmstat counts a reservation as in use even when no user has checked it out, and a queued
        request not at all, so only those two kinds are compared with the header's in-use total.
        """
        seats = {"checkout": 0, "reservation": 0, "queued": 0}
        for row in checkouts:
            seats[row["kind"]] += row["seats"]
        feature["seats_checked_out"] = seats["checkout"]
        feature["seats_reserved"] = seats["reservation"]
        feature["seats_queued"] = seats["queued"]
        if feature["in_use"] is None:
            feature["counts_match"] = None
            return
        feature["counts_match"] = seats["checkout"] + seats["reservation"] == feature["in_use"]
        if not feature["counts_match"]:
            self.count_mismatches.append(
                f"{feature['feature']} (in use {feature['in_use']}, lines "
                f"{seats['checkout']} checked out + {seats['reservation']} reserved)"
            )

    def _feed_table_row(self, line_number: int, line: str) -> None:
        self.parsed.records_total += 1
        tokens = [token.strip('"') for token in _TABLE_TOKEN.findall(line)]
        if len(tokens) != len(self.columns):
            self.parsed.reject(
                line_number,
                f"lmstat -i row has {len(tokens)} fields but the header above it has "
                f"{len(self.columns)} ({' '.join(self.columns)})",
                line,
            )
            return
        values = dict(zip(self.columns, tokens, strict=True))
        try:
            seats = int(values["seats"]) if "seats" in values else None
            expires, is_permanent = parse_expiry(values.get("expires", "permanent"))
        except ValueError as error:
            self.parsed.reject(line_number, f"feature {values.get('feature')!r}: {error}", line)
            return
        self.parsed.add_row(
            "lmstat_entitlements",
            {
                "server": self.server,
                "section": self.section,
                "feature": values.get("feature"),
                "version": values.get("version"),
                "seats": seats,
                "expires": expires,
                "is_permanent": is_permanent,
                "vendor": values.get("vendor"),
                "expires_raw": values.get("expires"),
                "_line_number": line_number,
            },
        )

    def finish(self) -> ParsedFile:
        self._close_block()
        self.parsed.notes.update(
            {
                "ignored_lines": self.ignored_lines,
                "undated_starts": self.undated_starts,
                "count_mismatches": len(self.count_mismatches),
            }
        )
        return self.parsed


def parse_file(path: Path, *, log_date: date | None = None) -> ParsedFile:
    """Parse one `lmstat -a` snapshot or `lmstat -i` listing; `log_date` is ignored.

    `records_total` counts feature header lines, checkout, reservation and queued lines and
    `-i` table rows. Raises SourceFileError for an empty file.
    """
    parser = _StatusParser(path)
    blank = True
    for line in iter_text_lines(path):
        blank = blank and not line.text.strip()
        if line.too_long:
            parser.parsed.records_total += 1
            parser.parsed.reject(line.number, too_long_reason(line.length), line.text)
        else:
            parser.feed(line.number, line.text)
    if blank:
        raise SourceFileError(
            f"{path}: the file is empty. Re-run lmutil lmstat or remove it from the landing folder."
        )
    parsed = parser.finish()
    if parser.undated_starts:
        logger.warning(
            "%s: %d checkout start times have no date because the file has no "
            "'Flexible License Manager status on' line",
            path,
            parser.undated_starts,
        )
    if parser.count_mismatches:
        logger.warning(
            "%s: in %d features the checkout and reservation lines do not add up to lmstat's "
            "in-use total, e.g. %s",
            path,
            len(parser.count_mismatches),
            "; ".join(parser.count_mismatches[:5]),
        )
    logger.info(
        "%s: %d features, %d checkout lines, %d entitlements, %d rejected",
        path,
        len(parsed.tables["lmstat_features"]),
        len(parsed.tables["lmstat_checkouts"]),
        len(parsed.tables["lmstat_entitlements"]),
        len(parsed.rejects),
    )
    return parsed
