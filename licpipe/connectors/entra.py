"""Microsoft Entra ID sign-in log CSV downloads and user list CSVs.

The portal's sign-in download repeats `Incoming token type`, writes `Application ID ` and
`Resource ID ` with a trailing space and `Autonomous system  number` with two spaces. Headers are
normalised before matching, so those quirks map to plain names; of repeated columns the first
non-empty cell wins. The older download shape (`CreatedDateTime,UserPrincipalName,...`) writes
times in the exporting user's locale, such as `3/12/2025 7:22:01 AM`.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from licpipe.connectors.base import (
    ParsedFile,
    Schema,
    SourceFileError,
    normalise_header,
    parse_datetime_cell,
)
from licpipe.connectors.csv_records import read_csv_records
from licpipe.connectors.m365 import convert_cell, header_labels, header_positions, width_error

logger = logging.getLogger(__name__)

SIGNINS = "entra_signins"
USERS = "entra_users"

# Sign-in column -> (DuckDB type, accepted normalised headers: the current download first,
# then the older CreatedDateTime shape).
_SIGNIN_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "request_id": ("VARCHAR", ("request_id", "id")),
    "correlation_id": ("VARCHAR", ("correlation_id", "correlationid")),
    "user_id": ("VARCHAR", ("user_id", "userid")),
    "user_display_name": ("VARCHAR", ("user", "userdisplayname")),
    "user_principal_name": ("VARCHAR", ("username", "userprincipalname")),
    "user_type": ("VARCHAR", ("user_type", "usertype")),
    "incoming_token_type": ("VARCHAR", ("incoming_token_type",)),
    "authentication_protocol": ("VARCHAR", ("authentication_protocol",)),
    "application": ("VARCHAR", ("application", "appdisplayname")),
    "application_id": ("VARCHAR", ("application_id", "appid")),
    "resource": ("VARCHAR", ("resource", "resourcedisplayname")),
    "resource_id": ("VARCHAR", ("resource_id", "resourceid")),
    "service_principal_id": ("VARCHAR", ("service_principal_id",)),
    "service_principal_name": ("VARCHAR", ("service_principal_name",)),
    "ip_address": ("VARCHAR", ("ip_address", "ipaddress")),
    "location": ("VARCHAR", ("location",)),
    "status": ("VARCHAR", ("status",)),
    "sign_in_error_code": ("VARCHAR", ("sign_in_error_code", "errorcode")),
    "failure_reason": ("VARCHAR", ("failure_reason", "failurereason")),
    "client_app": ("VARCHAR", ("client_app", "clientappused")),
    "device_id": ("VARCHAR", ("device_id", "deviceid")),
    "device": ("VARCHAR", ("device",)),
    "browser": ("VARCHAR", ("browser",)),
    "operating_system": ("VARCHAR", ("operating_system", "os")),
    "multifactor_authentication_result": ("VARCHAR", ("multifactor_authentication_result",)),
    "conditional_access": ("VARCHAR", ("conditional_access", "conditionalaccessstatus")),
    "autonomous_system_number": ("VARCHAR", ("autonomous_system_number",)),
    "risk_state": ("VARCHAR", ("riskstate", "risk_state")),
}
_SIGNIN_TIME_HEADERS = ("date_utc", "createddatetime", "date")
_SIGNIN_IDENTITY_HEADERS = (
    "username",
    "userprincipalname",
    "user_id",
    "service_principal_id",
    "service_principal_name",
)

# The sign-in type is only in the download's file name (`InteractiveSignIns_2025-03-01.csv`).
_SIGNIN_KINDS = (
    ("noninteractivesignins", "non_interactive"),
    ("interactivesignins", "interactive"),
    ("applicationsignins", "service_principal"),
    ("msisignins", "managed_identity"),
)

_USER_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "user_id": ("VARCHAR", ("id", "objectid", "object_id", "user_id")),
    "user_principal_name": ("VARCHAR", ("userprincipalname", "user_principal_name")),
    "display_name": ("VARCHAR", ("displayname", "display_name", "name")),
    "mail": ("VARCHAR", ("mail", "email")),
    "user_type": ("VARCHAR", ("usertype", "user_type")),
    "account_enabled": ("BOOLEAN", ("accountenabled", "account_enabled")),
    "created_at": ("TIMESTAMP", ("createddatetime", "created_date_time", "creation_date")),
}
# Sign-in activity fields, as Graph `signInActivity` names them, with their header spellings.
_ACTIVITY_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "last_sign_in_at": (
        "lastSignIn",
        (
            "lastsignin",
            "lastsignindatetime",
            "signinactivity_lastsignindatetime",
            "last_sign_in",
            "last_interactive_sign_in",
        ),
    ),
    "last_non_interactive_sign_in_at": (
        "lastNonInteractiveSignIn",
        (
            "lastnoninteractivesignin",
            "lastnoninteractivesignindatetime",
            "signinactivity_lastnoninteractivesignindatetime",
            "last_non_interactive_sign_in",
        ),
    ),
    "last_successful_sign_in_at": (
        "lastSuccessfulSignIn",
        (
            "lastsuccessfulsignin",
            "lastsuccessfulsignindatetime",
            "signinactivity_lastsuccessfulsignindatetime",
            "last_successful_sign_in",
        ),
    ),
}

SCHEMAS: dict[str, Schema] = {
    SIGNINS: {
        "signed_in_at": "TIMESTAMP",
        "sign_in_type": "VARCHAR",
        **{column: kind for column, (kind, _) in _SIGNIN_COLUMNS.items()},
    },
    USERS: {
        **{column: kind for column, (kind, _) in _USER_COLUMNS.items()},
        **{column: "TIMESTAMP" for column in _ACTIVITY_FIELDS},
        "last_activity_at": "TIMESTAMP",
        "last_activity_field": "VARCHAR",
        "never_signed_in": "BOOLEAN",
    },
}

_LOCALE_TIME = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?$"
)
DATE_ORDERS = ("us", "day_first")


def _header_kind(header: list[str]) -> str | None:
    names = set(header)
    # User lists are checked first because they share `createdDateTime` and
    # `userPrincipalName` with the older sign-in shape, but sign-ins never carry these columns.
    user_id_headers = set(_USER_COLUMNS["user_principal_name"][1])
    activity_headers = {alias for _, aliases in _ACTIVITY_FIELDS.values() for alias in aliases}
    if names & user_id_headers and names & (activity_headers | {"accountenabled", "objectid"}):
        return USERS
    if names & set(_SIGNIN_TIME_HEADERS[:2]) and names & set(_SIGNIN_IDENTITY_HEADERS):
        return SIGNINS
    return None


def detect(path: Path, head: str) -> bool:
    """True when the first line is an Entra sign-in download or user list header."""
    first_line = head.lstrip("\ufeff").split("\n", 1)[0]
    return _header_kind([normalise_header(name) for name in first_line.split(",")]) is not None


def parse_locale_datetime(raw: str, date_order: str | None) -> datetime:
    """Parse `M/D/YYYY h:mm[:ss] [AM|PM]` or its day-first twin, given the date order.

    Without `date_order`, only values whose order is certain are read: one of the first two
    numbers is above 12, or both are equal. Raises ValueError for ambiguous values, naming the
    option that settles them.
    """
    match = _LOCALE_TIME.match(raw.strip())
    if not match:
        raise ValueError(f"unrecognised date or time {raw!r}")
    first, second, year, hour, minute, second_of_minute, meridiem = match.groups()
    first_number, second_number = int(first), int(second)
    if date_order == "us":
        month, day = first_number, second_number
    elif date_order == "day_first":
        day, month = first_number, second_number
    elif first_number > 12:
        day, month = first_number, second_number
    elif second_number > 12 or first_number == second_number:
        month, day = first_number, second_number
    else:
        raise ValueError(
            f"ambiguous date {raw!r}: it reads as month/day (US) and as day/month; "
            "pass date_order='us' or date_order='day_first' for this export's locale"
        )

    hours = int(hour)
    if meridiem:
        if not 1 <= hours <= 12:
            raise ValueError(f"hour {hours} is invalid with {meridiem.upper()} in {raw!r}")
        hours = hours % 12 + (12 if meridiem.lower() == "pm" else 0)
    try:
        return datetime(int(year), month, day, hours, int(minute), int(second_of_minute or 0))
    except ValueError as error:
        raise ValueError(f"invalid date or time {raw!r}: {error}") from None


def _sign_in_time(raw: str, date_order: str | None) -> datetime | None:
    if not raw.strip():
        return None
    if _LOCALE_TIME.match(raw.strip()):
        return parse_locale_datetime(raw, date_order)
    return parse_datetime_cell(raw).value


def _first_value(fields: list[str], positions: list[int]) -> str:
    """Return the first non-empty cell among a repeated header's positions."""
    for position in positions:
        if position < len(fields) and fields[position].strip():
            return fields[position].strip()
    return ""


def _aliased_positions(
    positions: dict[str, list[int]], aliases: tuple[str, ...]
) -> tuple[str, list[int]] | None:
    for alias in aliases:
        if alias in positions:
            return alias, positions[alias]
    return None


def parse_file(path: Path, date_order: str | None = None, **options: Any) -> ParsedFile:
    """Parse an Entra ID sign-in download or user list CSV.

    Args:
        path: the CSV file.
        date_order: `us` (month first) or `day_first`, for older downloads whose locale times
            like `3/12/2025 7:22:01 AM` are otherwise ambiguous and rejected. ISO times need none.
        options: accepted and ignored, so the loader can pass one option set to every connector.

    Raises SourceFileError for an unknown header and ValueError for an unknown `date_order`.
    """
    del options
    if date_order is not None and date_order not in DATE_ORDERS:
        raise ValueError(f"date_order must be one of {DATE_ORDERS} or None, got {date_order!r}")
    header, records = read_csv_records(path, delimiter=",")
    kind = _header_kind(header)
    if kind is None:
        raise SourceFileError(
            f"{path}: the header is neither an Entra sign-in download (expected 'Date (UTC)' or "
            "'CreatedDateTime' plus 'Username', 'UserPrincipalName' or 'User ID') nor a user list "
            "(expected 'userPrincipalName' with sign-in activity or 'accountEnabled'). Export "
            "the file again from the Entra admin center, or move it out of the entra folder."
        )
    if kind == SIGNINS:
        return _parse_signins(path, header, records, date_order)
    return _parse_users(path, header, records)


def _sign_in_type(path: Path) -> str | None:
    name = path.stem.lower().replace("-", "").replace("_", "")
    for marker, sign_in_type in _SIGNIN_KINDS:
        if marker in name:
            return sign_in_type
    return None


def _parse_signins(
    path: Path, header: list[str], records: list[tuple[int, list[str], str]], date_order: str | None
) -> ParsedFile:
    positions = header_positions(header)
    time_column = _aliased_positions(positions, _SIGNIN_TIME_HEADERS)
    assert time_column is not None  # _header_kind requires a time header
    labels = header_labels(path, header)
    time_positions = time_column[1]
    time_label = labels[time_positions[0]]
    columns = {
        column: (kind, _aliased_positions(positions, aliases))
        for column, (kind, aliases) in _SIGNIN_COLUMNS.items()
    }
    sign_in_type = _sign_in_type(path)
    city_positions = positions.get("city", [])
    country_positions = positions.get("country", [])

    parsed = ParsedFile.for_records(records)
    parsed.notes["primary_table"] = SIGNINS
    parsed.notes["sign_in_type"] = sign_in_type
    for line_number, fields, raw_text in records:
        error = width_error(header, fields)
        if error:
            parsed.reject(line_number, error, raw_text)
            continue

        raw_time = _first_value(fields, time_positions)
        try:
            signed_in_at = _sign_in_time(raw_time, date_order)
        except ValueError as conversion_error:
            parsed.reject(line_number, f"column {time_label!r}: {conversion_error}", raw_text)
            continue
        if signed_in_at is None:
            parsed.reject(line_number, f"column {time_label!r} is empty", raw_text)
            continue

        row: dict[str, Any] = {"signed_in_at": signed_in_at, "sign_in_type": sign_in_type}
        for column, (kind, found) in columns.items():
            row[column] = convert_cell(kind, _first_value(fields, found[1])) if found else None
        if row["location"] is None and (city_positions or country_positions):
            parts = [_first_value(fields, city_positions), _first_value(fields, country_positions)]
            row["location"] = ", ".join(part for part in parts if part) or None
        row["_line_number"] = line_number
        parsed.add_row(SIGNINS, row)

    logger.info(
        "Parsed Entra sign-ins %s: %d records, %d landed, %d rejected",
        path,
        parsed.records_total,
        parsed.rows_landed,
        len(parsed.rejects),
    )
    return parsed


def _latest_activity(row: dict[str, Any]) -> tuple[datetime | None, str | None]:
    """Return the user's last activity time and the Graph field it came from.

    `lastSuccessfulSignIn` wins when present because it covers interactive and non-interactive
    sign-ins and excludes failed attempts, which `lastSignIn` counts. Otherwise the later of
    the interactive and non-interactive times is used.
    """
    successful = row["last_successful_sign_in_at"]
    if successful is not None:
        return successful, _ACTIVITY_FIELDS["last_successful_sign_in_at"][0]
    candidates = [
        (row[column], field_name)
        for column, (field_name, _) in _ACTIVITY_FIELDS.items()
        if column != "last_successful_sign_in_at" and row[column] is not None
    ]
    if not candidates:
        return None, None
    return max(candidates, key=lambda candidate: candidate[0])


def _parse_users(
    path: Path, header: list[str], records: list[tuple[int, list[str], str]]
) -> ParsedFile:
    positions = header_positions(header)
    specs = dict(_USER_COLUMNS)
    for column, (_, aliases) in _ACTIVITY_FIELDS.items():
        specs[column] = ("TIMESTAMP", aliases)
    columns = {
        column: (kind, _aliased_positions(positions, aliases))
        for column, (kind, aliases) in specs.items()
    }
    has_activity = any(columns[column][1] for column in _ACTIVITY_FIELDS)
    labels = header_labels(path, header)

    parsed = ParsedFile.for_records(records)
    parsed.notes["primary_table"] = USERS
    for line_number, fields, raw_text in records:
        error = width_error(header, fields)
        if error:
            parsed.reject(line_number, error, raw_text)
            continue

        row: dict[str, Any] = {}
        try:
            for column, (kind, found) in columns.items():
                label = labels[found[1][0]] if found else column
                raw = _first_value(fields, found[1]) if found else ""
                try:
                    row[column] = convert_cell(kind, raw)
                except ValueError as conversion_error:
                    raise ValueError(f"column {label!r}: {conversion_error}") from None
        except ValueError as conversion_error:
            parsed.reject(line_number, str(conversion_error), raw_text)
            continue
        if not row["user_principal_name"]:
            parsed.reject(line_number, "column 'userPrincipalName' is empty", raw_text)
            continue

        row["last_activity_at"], row["last_activity_field"] = _latest_activity(row)
        row["never_signed_in"] = row["last_activity_at"] is None if has_activity else None
        row["_line_number"] = line_number
        parsed.add_row(USERS, row)

    logger.info(
        "Parsed Entra users %s: %d records, %d landed, %d rejected",
        path,
        parsed.records_total,
        parsed.rows_landed,
        len(parsed.rejects),
    )
    return parsed
