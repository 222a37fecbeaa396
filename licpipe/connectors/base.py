"""Shared types and value parsers for the export-file connectors.

A connector is a pure function from one file to typed rows plus rejected rows. It never touches
the warehouse: `licpipe.loading` adds lineage columns, creates tables from the declared schemas
and inserts, so that every source is loaded, deduplicated and counted the same way.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sized
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

# Column name -> DuckDB type. Declared, never sniffed, so a late odd value cannot change a
# column's type or drop its row.
Schema = dict[str, str]


class SourceFileError(Exception):
    """A file that cannot be read at all: the message names the file, the reason and the fix."""


@dataclass
class Reject:
    """One line or record that could not be parsed, kept verbatim with the reason."""

    line_number: int | None
    reason: str
    raw_text: str


@dataclass
class ParsedFile:
    """What a connector returns for one file.

    `tables` maps a raw table name (without the `raw.` schema) to its rows; each row is a dict
    of column -> typed Python value and carries `_line_number` (1-based line in the file, or the
    record number for JSON). `records_total` counts the data lines or records read, excluding
    headers and blank lines, so that landed + rejected can be compared with it.
    """

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    records_total: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def add_row(self, table: str, row: dict[str, Any]) -> None:
        self.tables.setdefault(table, []).append(row)

    def reject(self, line_number: int | None, reason: str, raw_text: str) -> None:
        self.rejects.append(Reject(line_number, reason, raw_text))

    @classmethod
    def for_records(cls, records: Sized) -> ParsedFile:
        """Start the result for a CSV file, taking over the lines it rejected before splitting.

        `records` is what `read_csv_records` returns: its length counts the records, and its
        `rejects` are lines that are counted and rejected here.
        """
        line_rejects = list(getattr(records, "rejects", []))
        return cls(rejects=line_rejects, records_total=len(records) + len(line_rejects))

    @property
    def rows_landed(self) -> int:
        return sum(len(rows) for rows in self.tables.values())


def read_text(path: Path) -> str:
    """Read a text export, dropping a UTF-8 BOM and normalising CRLF.

    Falls back to cp1252 for files that are not valid UTF-8 (old Windows license servers).
    """
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")


def normalise_header(name: str) -> str:
    """Map an export header to a snake_case key: `Application ID ` -> `application_id`."""
    name = name.replace("\ufeff", "").replace("ï»¿", "").strip().lower()
    name = re.sub(r"[^0-9a-z]+", "_", name)
    return name.strip("_")


def sniff_delimiter(header_line: str) -> str:
    """Return `;`, a tab or `,`: whichever splits the header into the most fields."""
    counts = {d: len(next(csv.reader([header_line], delimiter=d))) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ","))


# Values that mean "no date" in last-login style columns, compared case-folded.
NEVER_SENTINELS = {
    "never",
    "never logged in",
    "never accessed",
    "never used",
    "nunca",
    "n/a",
    "none",
    "null",
    "(never)",
}
UNKNOWN_SENTINELS = {"", "-", "(unknown)", "unknown"}

_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%d-%b-%Y",
)
_DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M",
    "%d %b %Y %H:%M:%S",
    "%b %d, %Y %H:%M",
)


@dataclass(frozen=True)
class DateValue:
    """A parsed date cell: the value (None when absent) and whether a never-used sentinel set it."""

    value: datetime | None
    is_never: bool | None  # True for NEVER/epoch sentinels, None when the cell is just empty


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_moment(text: str) -> datetime | None:
    """Parse a non-sentinel cell as written, keeping its UTC offset when it has one."""
    for fmt in _DATETIME_FORMATS + _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _sentinel_value(text: str) -> DateValue | None:
    """Return the DateValue of an empty or never-used cell, or None for any other text."""
    folded = text.lower()
    if folded in UNKNOWN_SENTINELS:
        return DateValue(None, None)
    if folded in NEVER_SENTINELS:
        return DateValue(None, True)
    return None


@lru_cache(maxsize=65536)
def parse_datetime_cell(raw: str | None) -> DateValue:
    """Parse a timestamp or date cell, mapping sentinels and the Unix epoch to NULL.

    Cached because exports repeat the same few hundred dates on every row.
    Raises ValueError naming the value when it matches no known format.
    """
    text = (raw or "").strip()
    if _ISO_DATE.match(text):
        parsed_date = date.fromisoformat(text)
        if parsed_date.year <= 1970:
            return DateValue(None, True)
        return DateValue(datetime.combine(parsed_date, datetime.min.time()), False)
    sentinel = _sentinel_value(text)
    if sentinel is not None:
        return sentinel
    parsed = _parse_moment(text)
    if parsed is None:
        raise ValueError(f"unrecognised date or time {text!r}")
    if parsed.tzinfo is not None:
        # Store UTC wall time without an offset, as every raw timestamp column does.
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    # The epoch and year-0 style values are how some tools write "never".
    if parsed.year <= 1970:
        return DateValue(None, True)
    return DateValue(parsed, False)


@lru_cache(maxsize=65536)
def parse_date_cell(raw: str | None) -> DateValue:
    """Parse a date cell like `parse_datetime_cell`, keeping only the calendar date as written.

    A timestamp with a UTC offset keeps its own date (`2024-05-01T00:00:00+02:00` is 1 May),
    because a date column such as a report refresh date names the exporter's day.
    """
    text = (raw or "").strip()
    parsed = parse_datetime_cell(text)
    if parsed.value is None:
        return parsed
    if not _ISO_DATE.match(text):
        written = _parse_moment(text)
        if written is not None and written.tzinfo is not None:
            return DateValue(datetime.combine(written.date(), datetime.min.time()), False)
    return DateValue(datetime.combine(parsed.value.date(), datetime.min.time()), parsed.is_never)


def to_date(raw: str | None) -> date | None:
    """Return the date in a cell, or None for empty and sentinel values. Raises ValueError."""
    value = parse_date_cell(raw).value
    return value.date() if value else None


_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


def to_bool(raw: str | None) -> bool | None:
    """Parse True/False, Yes/No and 1/0 cells; empty is None. Raises ValueError otherwise."""
    text = (raw or "").strip().lower()
    if text == "":
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected True/False, Yes/No or 1/0, got {raw!r}")


# Commas are read only as thousands separators in their usual places (`1,234,567.5`), because
# a comma elsewhere (`0,5`, `1.234,50`) is a decimal comma, and dropping it changes the value.
_GROUPED_NUMBER = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")


def plain_number_text(raw: str) -> str:
    """Return a number cell with its thousands separators removed.

    Raises ValueError for a comma that is not a thousands separator, naming the fix.
    """
    text = raw.strip()
    if "," not in text:
        return text
    if _GROUPED_NUMBER.match(text):
        return text.replace(",", "")
    raise ValueError(
        f"{raw!r} has a decimal comma or misplaced thousands separator. Use a dot as the "
        "decimal separator, such as 1234.50"
    )


def to_int(raw: str | None) -> int | None:
    """Parse a whole-number cell, allowing thousands separators (`"1,234"`); empty is None.

    `12.0` is accepted as 12. Raises ValueError for a fraction such as `2.7` or any other text.
    """
    text = plain_number_text(raw or "")
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"expected a whole number, got {raw!r}") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError(f"expected a whole number, got {raw!r}")
    return int(value)


def to_float(raw: str | None) -> float | None:
    """Parse a decimal cell; empty and `n/a` are None. Raises ValueError otherwise."""
    text = (raw or "").strip()
    if text.lower() in {"", "n/a", "na", "-"}:
        return None
    text = plain_number_text(text)
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {raw!r}") from None


_ISO_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def iso_duration_seconds(raw: str | None) -> float | None:
    """Convert an ISO-8601 duration such as `PT1H2M3S` to seconds; empty is None."""
    text = (raw or "").strip()
    if not text:
        return None
    match = _ISO_DURATION.match(text)
    if not match:
        raise ValueError(f"expected an ISO-8601 duration like PT1H2M3S, got {raw!r}")
    days, hours, minutes, seconds = match.groups()
    return (
        int(days or 0) * 86400
        + int(hours or 0) * 3600
        + int(minutes or 0) * 60
        + float(seconds or 0)
    )


CONCEALED_UPN = re.compile(r"^[0-9A-F]{32}$")
ZERO_GUID = "00000000-0000-0000-0000-000000000000"


def is_concealed_identity(value: str | None) -> bool:
    """True for Microsoft 365 pseudonymised names: 32 upper-case hex characters or `(Unknown)`."""
    text = (value or "").strip()
    return bool(CONCEALED_UPN.match(text)) or text.lower() == "(unknown)" or text == ZERO_GUID
