"""Salesforce Setup > Login History downloads and User object exports.

Login History downloads write `Login Time` as `MM/dd/yyyy hh:mm a` in the downloading user's
time zone, while API and Data Loader exports write ISO-8601 in GMT, so both are read and
zone-less times are converted from the `time_zone` option (UTC by default). Record ids come as
15-character case-sensitive ids or their 18-character case-safe form, and `user_id_18` contains
the 18-character form so that exports of either kind join.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from licpipe.connectors.base import (
    ParsedFile,
    Schema,
    SourceFileError,
    normalise_header,
    parse_datetime_cell,
)
from licpipe.connectors.csv_records import read_csv_records
from licpipe.connectors.m365 import (
    convert_columns,
    field_at,
    find_position,
    header_labels,
    header_positions,
    width_error,
)

logger = logging.getLogger(__name__)

LOGIN_HISTORY = "salesforce_login_history"
USERS = "salesforce_users"

# Column -> (DuckDB type, accepted normalised headers: UI download labels, then API names).
_LOGIN_COLUMNS: list[tuple[str, str, tuple[str, ...]]] = [
    ("username", "VARCHAR", ("username", "user_name")),
    ("user_id", "VARCHAR", ("user_id", "userid")),
    ("source_ip", "VARCHAR", ("source_ip", "sourceip")),
    ("location", "VARCHAR", ("location",)),
    ("login_type", "VARCHAR", ("login_type", "logintype")),
    ("login_subtype", "VARCHAR", ("login_subtype", "loginsubtype")),
    ("status", "VARCHAR", ("status",)),
    ("application", "VARCHAR", ("application",)),
    ("browser", "VARCHAR", ("browser",)),
    ("platform", "VARCHAR", ("platform",)),
    ("login_url", "VARCHAR", ("login_url", "loginurl")),
    ("api_type", "VARCHAR", ("api_type", "apitype")),
]
_LOGIN_TIME_HEADERS = ("login_time", "logintime")

_USER_COLUMNS: list[tuple[str, str, tuple[str, ...]]] = [
    ("user_id", "VARCHAR", ("id", "user_id", "userid")),
    ("username", "VARCHAR", ("username", "user_name")),
    ("email", "VARCHAR", ("email",)),
    ("full_name", "VARCHAR", ("name", "full_name")),
    ("is_active", "BOOLEAN", ("isactive", "is_active", "active")),
    (
        "user_license",
        "VARCHAR",
        ("userlicense", "user_license", "userlicense_name", "profile_userlicense_name"),
    ),
    ("profile", "VARCHAR", ("profile", "profile_name")),
    ("user_type", "VARCHAR", ("usertype", "user_type")),
]
_LAST_LOGIN_HEADERS = ("lastlogindate", "last_login_date", "last_login")

SCHEMAS: dict[str, Schema] = {
    LOGIN_HISTORY: {
        "username": "VARCHAR",
        "user_id": "VARCHAR",
        "user_id_18": "VARCHAR",
        "login_time": "TIMESTAMP",
        **{name: kind for name, kind, _ in _LOGIN_COLUMNS[2:]},
        "is_internal_user": "BOOLEAN",
    },
    USERS: {
        "user_id": "VARCHAR",
        "user_id_18": "VARCHAR",
        **{name: kind for name, kind, _ in _USER_COLUMNS[1:]},
        "last_login_at": "TIMESTAMP",
        "never_logged_in": "BOOLEAN",
        "is_internal_user": "BOOLEAN",
    },
}

_ID_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_RECORD_ID = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")
# License Management App users log in as `033...@00d...` (digits masked with `*` in the UI).
_INTERNAL_USERNAME = re.compile(r"^033[0-9a-z*]*@00d[0-9a-z*]*$", re.IGNORECASE)
_EXPLICIT_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def to_18_char_id(record_id: str) -> str:
    """Return the 18-character case-safe form of a 15- or 18-character Salesforce id.

    Each suffix character encodes which of five id characters are upper case, as a bit mask
    indexed into A-Z0-5. Raises ValueError for a malformed id or an 18-character id whose suffix
    does not match its first 15 characters (typically an id whose case was changed).
    """
    if not _RECORD_ID.match(record_id):
        raise ValueError(f"{record_id!r} is not a 15- or 18-character Salesforce id")
    base = record_id[:15]
    suffix = ""
    for start in range(0, 15, 5):
        mask = 0
        for bit, character in enumerate(base[start : start + 5]):
            if "A" <= character <= "Z":
                mask |= 1 << bit
        suffix += _ID_SUFFIX_ALPHABET[mask]
    if len(record_id) == 18 and record_id[15:] != suffix:
        raise ValueError(
            f"{record_id!r} has the check suffix {record_id[15:]!r} but its first 15 characters "
            f"give {suffix!r}; the id's letter case was probably changed after export"
        )
    return base + suffix


def is_internal_username(username: str | None) -> bool:
    """True for License Management App users (`033...@00d...`), which are not people."""
    return bool(username and _INTERNAL_USERNAME.match(username.strip()))


def _header_kind(header: list[str]) -> str | None:
    names = set(header)
    if names & set(_LOGIN_TIME_HEADERS) and names & {"username", "user_id", "userid"}:
        return LOGIN_HISTORY
    has_id = bool(names & {"id", "user_id", "userid"})
    has_user_field = bool(names & {"isactive", "userlicense", "lastlogindate", "profile_name"})
    if has_id and "username" in names and has_user_field:
        return USERS
    return None


def detect(path: Path, head: str) -> bool:
    """True when the first line is a Login History or User export header."""
    first_line = head.lstrip("\ufeff").split("\n", 1)[0]
    return _header_kind([normalise_header(name) for name in first_line.split(",")]) is not None


def _zone(time_zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"time_zone {time_zone!r} is not an IANA time zone name such as 'UTC' or "
            "'America/New_York'"
        ) from None


def _to_utc(raw: str, zone: ZoneInfo) -> datetime | None:
    """Parse a time cell as UTC, reading a time without an explicit offset in `zone`."""
    value = parse_datetime_cell(raw).value
    if value is None or _EXPLICIT_OFFSET.search(raw.strip()):
        return value
    return value.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


class _IdNormaliser:
    """Convert ids to 18 characters, keeping an 18-character id whose suffix does not match.

    A mismatched suffix means the id's letter case changed after export or the id was not made
    by Salesforce. Such ids are kept as exported and counted, so the user still lands. An id
    that is not 15 or 18 letters and digits raises ValueError.
    """

    def __init__(self) -> None:
        self.checksum_mismatches = 0

    def __call__(self, raw_id: str | None) -> str | None:
        if not raw_id:
            return None
        try:
            return to_18_char_id(raw_id)
        except ValueError:
            if len(raw_id) != 18 or not _RECORD_ID.match(raw_id):
                raise
            self.checksum_mismatches += 1
            return raw_id


def parse_file(path: Path, time_zone: str = "UTC", **options: Any) -> ParsedFile:
    """Parse a Salesforce Login History download or User export CSV.

    Args:
        path: the CSV file.
        time_zone: IANA zone of times written without an offset (the downloading user's zone
            for Login History downloads).
        options: accepted and ignored, so the loader can pass one option set to every connector.

    Raises SourceFileError for an unknown header and ValueError for an unknown time zone.
    """
    del options
    zone = _zone(time_zone)
    header, records = read_csv_records(path, delimiter=",")
    kind = _header_kind(header)
    if kind is None:
        raise SourceFileError(
            f"{path}: the header is neither a Login History download (expected 'Username' or "
            "'UserId' and 'Login Time') nor a User export (expected Id, Username and IsActive, "
            "UserLicense or LastLoginDate). Download it again from Setup, or move the file out "
            "of the salesforce folder."
        )
    normalise_id = _IdNormaliser()
    if kind == LOGIN_HISTORY:
        parsed = _parse_login_history(path, header, records, zone, normalise_id)
    else:
        parsed = _parse_users(path, header, records, normalise_id)

    parsed.notes["primary_table"] = kind
    parsed.notes["id_checksum_mismatches"] = normalise_id.checksum_mismatches
    if normalise_id.checksum_mismatches:
        logger.warning(
            "%s: %d 18-character ids have a check suffix that does not match their first 15 "
            "characters; they are kept as exported in user_id_18, so joins on them may fail",
            path,
            normalise_id.checksum_mismatches,
        )
    parsed.notes["internal_user_rows"] = sum(
        1 for row in parsed.tables.get(kind, []) if row["is_internal_user"]
    )
    logger.info(
        "Parsed Salesforce %s %s: %d records, %d landed, %d rejected",
        kind,
        path,
        parsed.records_total,
        parsed.rows_landed,
        len(parsed.rejects),
    )
    return parsed


def _parse_login_history(
    path: Path,
    header: list[str],
    records: list[tuple[int, list[str], str]],
    zone: ZoneInfo,
    normalise_id: _IdNormaliser,
) -> ParsedFile:
    positions = header_positions(header)
    columns = [
        (name, kind, find_position(positions, aliases)) for name, kind, aliases in _LOGIN_COLUMNS
    ]
    time_position = find_position(positions, _LOGIN_TIME_HEADERS)
    labels = header_labels(path, header)

    parsed = ParsedFile.for_records(records)
    for line_number, fields, raw_text in records:
        error = width_error(header, fields)
        if error:
            parsed.reject(line_number, error, raw_text)
            continue

        row = convert_columns(columns, fields, labels)
        raw_time = field_at(fields, time_position)
        try:
            row["login_time"] = _to_utc(raw_time, zone)
        except ValueError as conversion_error:
            parsed.reject(line_number, f"column 'Login Time': {conversion_error}", raw_text)
            continue
        try:
            row["user_id_18"] = normalise_id(row["user_id"])
        except ValueError as id_error:
            parsed.reject(line_number, f"column 'UserId': {id_error}", raw_text)
            continue
        if row["login_time"] is None:
            parsed.reject(line_number, "column 'Login Time' is empty", raw_text)
            continue
        if not row["username"] and not row["user_id"]:
            parsed.reject(line_number, "columns 'Username' and 'UserId' are both empty", raw_text)
            continue

        row["is_internal_user"] = is_internal_username(row["username"])
        row["_line_number"] = line_number
        parsed.add_row(LOGIN_HISTORY, row)
    return parsed


def _parse_users(
    path: Path,
    header: list[str],
    records: list[tuple[int, list[str], str]],
    normalise_id: _IdNormaliser,
) -> ParsedFile:
    positions = header_positions(header)
    columns = [
        (name, kind, find_position(positions, aliases)) for name, kind, aliases in _USER_COLUMNS
    ]
    last_login_position = find_position(positions, _LAST_LOGIN_HEADERS)
    labels = header_labels(path, header)

    parsed = ParsedFile.for_records(records)
    for line_number, fields, raw_text in records:
        error = width_error(header, fields)
        if error:
            parsed.reject(line_number, error, raw_text)
            continue

        try:
            row = convert_columns(columns, fields, labels)
        except ValueError as conversion_error:
            parsed.reject(line_number, str(conversion_error), raw_text)
            continue
        try:
            last_login = parse_datetime_cell(field_at(fields, last_login_position))
        except ValueError as conversion_error:
            parsed.reject(line_number, f"column 'LastLoginDate': {conversion_error}", raw_text)
            continue
        if not row["user_id"]:
            parsed.reject(line_number, "column 'Id' is empty", raw_text)
            continue
        try:
            row["user_id_18"] = normalise_id(row["user_id"])
        except ValueError as id_error:
            parsed.reject(line_number, f"column 'Id': {id_error}", raw_text)
            continue

        row["last_login_at"] = last_login.value
        # Salesforce leaves LastLoginDate empty for users who never logged in.
        row["never_logged_in"] = None
        if last_login_position is not None:
            row["never_logged_in"] = last_login.value is None
        row["is_internal_user"] = is_internal_username(row["username"])
        row["_line_number"] = line_number
        parsed.add_row(USERS, row)
    return parsed
