"""Slack member analytics and Manage members exports.

The member analytics export (Admin > Analytics > Members) carries no report window inside the
file, so the window comes from the file name or from the `window_start`/`window_end` options.
The Manage members export (lower-case headers such as `billing-active`) gives billing status.
"""

from __future__ import annotations

import csv
import logging
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from licpipe.connectors.base import (
    ParsedFile,
    SourceFileError,
    normalise_header,
    parse_datetime_cell,
    sniff_delimiter,
    to_bool,
    to_date,
    to_int,
)
from licpipe.connectors.csv_records import read_csv_records

logger = logging.getLogger(__name__)

MEMBERS_TABLE = "slack_members"
BILLING_TABLE = "slack_billing"

SCHEMAS: dict[str, dict[str, str]] = {
    MEMBERS_TABLE: {
        "window_start": "DATE",
        "window_end": "DATE",
        "user_id": "VARCHAR",
        "name": "VARCHAR",
        "display_name": "VARCHAR",
        "username": "VARCHAR",
        "email": "VARCHAR",
        "account_type": "VARCHAR",
        "account_created_at": "DATE",
        "claimed_at": "DATE",
        "deactivated_at": "DATE",
        "days_active": "INTEGER",
        "days_active_desktop": "INTEGER",
        "days_active_android": "INTEGER",
        "days_active_ios": "INTEGER",
        "messages_posted": "INTEGER",
        "messages_posted_in_channels": "INTEGER",
        "reactions_added": "INTEGER",
        "files_uploaded": "INTEGER",
        "days_using_slack_connect": "INTEGER",
        "slack_huddles": "INTEGER",
        "searches": "INTEGER",
        "channels_joined": "INTEGER",
        "last_active_on": "DATE",
        "last_active_desktop_on": "DATE",
        "last_active_android_on": "DATE",
        "last_active_ios_on": "DATE",
        "billing_active": "BOOLEAN",
    },
    BILLING_TABLE: {
        "username": "VARCHAR",
        "email": "VARCHAR",
        "status": "VARCHAR",
        "account_type": "VARCHAR",
        "billing_active": "BOOLEAN",
        "has_2fa": "BOOLEAN",
        "has_sso": "BOOLEAN",
        "user_id": "VARCHAR",
        "full_name": "VARCHAR",
        "display_name": "VARCHAR",
        "expiration_at": "TIMESTAMP",
    },
}

# Column -> accepted normalised export headers, first match wins.
MEMBER_COLUMNS: dict[str, tuple[str, ...]] = {
    "user_id": ("user_id",),
    "name": ("name", "full_name"),
    "display_name": ("display_name",),
    "username": ("username",),
    "email": ("email", "email_address"),
    "account_type": ("account_type",),
    "account_created_at": ("account_created_utc", "account_created"),
    "claimed_at": ("claimed_date_utc", "claimed_date"),
    "deactivated_at": ("deactivated_date_utc", "deactivated_date"),
    "days_active": ("days_active",),
    "days_active_desktop": ("days_active_desktop",),
    "days_active_android": ("days_active_android",),
    "days_active_ios": ("days_active_ios",),
    "messages_posted": ("messages_posted",),
    "messages_posted_in_channels": ("messages_posted_in_channels",),
    "reactions_added": ("reactions_added",),
    "files_uploaded": ("files_uploaded",),
    "days_using_slack_connect": ("days_using_slack_connect",),
    "slack_huddles": ("slack_huddles",),
    "searches": ("searches",),
    "channels_joined": ("channels_joined",),
    "last_active_on": ("last_active_utc", "last_active"),
    "last_active_desktop_on": ("last_active_desktop_utc", "last_active_desktop"),
    "last_active_android_on": ("last_active_android_utc", "last_active_android"),
    "last_active_ios_on": ("last_active_ios_utc", "last_active_ios"),
    "billing_active": ("billing_active", "billable"),
}
BILLING_COLUMNS: dict[str, tuple[str, ...]] = {
    "username": ("username",),
    "email": ("email",),
    "status": ("status",),
    "account_type": ("account_type",),
    "billing_active": ("billing_active",),
    "has_2fa": ("has_2fa",),
    "has_sso": ("has_sso",),
    "user_id": ("userid", "user_id"),
    "full_name": ("fullname", "full_name"),
    "display_name": ("displayname", "display_name"),
    "expiration_at": ("expiration_timestamp", "expiration_at"),
}

MEMBERS_HEADER = (
    "Name,User ID,Username,Email,Account type,Days active,Messages posted,Last active (UTC)"
)
BILLING_HEADER = "username,email,status,billing-active,has-2fa,has-sso,userid,fullname,displayname"

_MONTH_DATE = r"[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}"
_PRIOR_DAYS = re.compile(rf"Prior (\d+) Days? - ({_MONTH_DATE})", re.IGNORECASE)
_DATE_RANGE = re.compile(rf"({_MONTH_DATE}) - ({_MONTH_DATE})")


def detect(path: Path, head: str) -> bool:
    """Recognise either Slack export by its header line."""
    header = _header_names(head)
    return _is_members_header(header) or _is_billing_header(header)


def parse_file(
    path: Path,
    window_start: date | str | None = None,
    window_end: date | str | None = None,
    **_options: Any,
) -> ParsedFile:
    """Parse a member analytics export (into `slack_members`) or a Manage members export.

    `window_start`/`window_end` override the report window read from the file name. Raises
    SourceFileError for an unknown header or a member analytics file with no window.
    """
    header, records = read_csv_records(path)
    if _is_members_header(header):
        start, end = _report_window(path, window_start, window_end)
        return _parse_members(path, header, records, start, end)
    if _is_billing_header(header):
        return _parse_billing(path, header, records)
    raise SourceFileError(
        f"{path}: unknown Slack export header {header[:8]}. Expected a member analytics export "
        f"({MEMBERS_HEADER}, ...) or a Manage members export ({BILLING_HEADER}). "
        "Re-export from Slack admin or move the file out of the slack folder."
    )


def report_window_from_name(file_name: str) -> tuple[date, date] | None:
    """Read the report window from a member analytics file name, or return None.

    `Prior 30 Days - Apr 17, 2026` covers the 30 days ending on Apr 17, 2026, both ends
    included, so its start is Mar 19, 2026. `Mar 17, 2025 - Apr 17, 2026` is an explicit range.
    """
    prior = _PRIOR_DAYS.search(file_name)
    if prior:
        days = int(prior.group(1))
        end = _parse_month_date(prior.group(2))
        return end - timedelta(days=days - 1), end

    explicit = _DATE_RANGE.search(file_name)
    if explicit:
        return _parse_month_date(explicit.group(1)), _parse_month_date(explicit.group(2))
    return None


def _parse_month_date(text: str) -> date:
    cleaned = text.replace(".", "")
    for fmt in ("%b %d, %Y", "%B %d, %Y"):
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    # Some locales abbreviate September as "Sept", but strptime accepts only "Sep".
    return datetime.strptime(cleaned.replace("Sept ", "Sep "), "%b %d, %Y").date()


def _report_window(
    path: Path, window_start: date | str | None, window_end: date | str | None
) -> tuple[date, date]:
    try:
        from_name = report_window_from_name(path.name)
    except ValueError as error:
        raise SourceFileError(
            f"{path}: the report window in the file name is not a valid date ({error}). Keep the "
            "name Slack gives the export, or pass window_start and window_end."
        ) from None

    name_start, name_end = from_name or (None, None)
    start = _option_date(path, "window_start", window_start) or name_start
    end = _option_date(path, "window_end", window_end) or name_end
    if not start or not end:
        raise SourceFileError(
            f"{path}: member analytics files carry their report window only in the file name, and "
            "this name has none. Keep Slack's name (`<Workspace> Member Analytics Prior 30 Days - "
            "Apr 17, 2026.csv` or `... Mar 17, 2026 - Apr 17, 2026.csv`) or pass window_start and "
            "window_end."
        )
    if start > end:
        raise SourceFileError(
            f"{path}: report window starts {start} after it ends {end}. Fix the file name or the "
            "window_start and window_end options."
        )
    return start, end


def _option_date(path: Path, name: str, value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SourceFileError(
            f"{path}: option {name}={value!r} is not a YYYY-MM-DD date."
        ) from None


def _parse_members(
    path: Path,
    header: list[str],
    records: list[tuple[int, list[str], str]],
    start: date,
    end: date,
) -> ParsedFile:
    parsed = ParsedFile.for_records(records)
    index = _column_index(header, MEMBER_COLUMNS)
    for line_number, fields, raw in records:
        if len(fields) != len(header):
            parsed.reject(line_number, _width_reason(header, fields), raw)
            continue

        row: dict[str, Any] = {
            "_line_number": line_number,
            "window_start": start,
            "window_end": end,
        }
        try:
            for column, kind in SCHEMAS[MEMBERS_TABLE].items():
                if column in row:
                    continue
                row[column] = _convert(kind, _cell(fields, index, column), column)
        except ValueError as error:
            parsed.reject(line_number, str(error), raw)
            continue

        if not (row["user_id"] or row["email"] or row["username"]):
            parsed.reject(
                line_number, "User ID, Username and Email are all empty. Re-export the file", raw
            )
            continue
        parsed.add_row(MEMBERS_TABLE, row)

    logger.info(
        "Parsed Slack member analytics %s (window %s to %s): %d landed, %d rejected",
        path.name,
        start,
        end,
        parsed.rows_landed,
        len(parsed.rejects),
    )
    return parsed


def _parse_billing(
    path: Path, header: list[str], records: list[tuple[int, list[str], str]]
) -> ParsedFile:
    parsed = ParsedFile.for_records(records)
    index = _column_index(header, BILLING_COLUMNS)
    for line_number, fields, raw in records:
        if len(fields) != len(header):
            parsed.reject(line_number, _width_reason(header, fields), raw)
            continue

        row: dict[str, Any] = {"_line_number": line_number}
        try:
            for column, kind in SCHEMAS[BILLING_TABLE].items():
                text = _cell(fields, index, column)
                if column == "expiration_at":
                    row[column] = _expiration(text)
                else:
                    row[column] = _convert(kind, text, column)
        except ValueError as error:
            parsed.reject(line_number, str(error), raw)
            continue

        if not row["email"] and not row["user_id"] and not row["username"]:
            parsed.reject(line_number, "email, userid and username are all empty", raw)
            continue
        parsed.add_row(BILLING_TABLE, row)

    logger.info(
        "Parsed Slack members export %s: %d landed, %d rejected",
        path.name,
        parsed.rows_landed,
        len(parsed.rejects),
    )
    return parsed


def _expiration(text: str) -> datetime | None:
    """Convert `expiration-timestamp`, which contains Unix seconds (0 or empty for none)."""
    if text.isdigit():
        seconds = int(text)
        if seconds == 0:
            return None
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    try:
        return parse_datetime_cell(text).value
    except ValueError:
        raise ValueError(
            f"column expiration-timestamp: invalid value {text!r}. Expected Unix seconds or a date"
        ) from None


def _convert(kind: str, text: str, column: str) -> Any:
    try:
        if kind == "INTEGER":
            return to_int(text)
        if kind == "DATE":
            return to_date(text)
        if kind == "BOOLEAN":
            return to_bool(text)
    except ValueError as error:
        raise ValueError(f"column {column}: {error}. Fix the value or re-export the file") from None
    return text or None


def _header_names(head: str) -> list[str]:
    first_line = head.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    if not first_line:
        return []
    fields = next(csv.reader([first_line], delimiter=sniff_delimiter(first_line)))
    return [normalise_header(name) for name in fields]


def _is_members_header(header: list[str]) -> bool:
    has_identity = bool({"user_id", "username", "email"} & set(header))
    return "days_active" in header and has_identity


def _is_billing_header(header: list[str]) -> bool:
    return "billing_active" in header and "email" in header and "days_active" not in header


def _column_index(header: list[str], columns: dict[str, tuple[str, ...]]) -> dict[str, int]:
    index: dict[str, int] = {}
    for column, names in columns.items():
        for name in names:
            if name in header:
                index[column] = header.index(name)
                break
    return index


def _cell(fields: list[str], index: dict[str, int], column: str) -> str:
    position = index.get(column)
    return fields[position].strip() if position is not None else ""


def _width_reason(header: list[str], fields: list[str]) -> str:
    return (
        f"row has {len(fields)} fields but the header has {len(header)}. "
        "Check for an unquoted comma or a truncated line"
    )
