"""Okta System Log exports (LogEvent JSON) and the Okta user list CSV.

System Log polls overlap, so the same event `uuid` can occur twice in one file, and only the
first occurrence lands. Events are not sorted by `published`, and targets are found by their `type`
because their order in `target[]` is not fixed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from licpipe.connectors.base import (
    ParsedFile,
    Schema,
    SourceFileError,
    normalise_header,
    parse_datetime_cell,
    read_text,
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
from licpipe.connectors.text_lines import TextLine, iter_text_lines, read_head, too_long_reason

logger = logging.getLogger(__name__)

EVENTS = "okta_events"
USERS = "okta_users"

SCHEMAS: dict[str, Schema] = {
    EVENTS: {
        "uuid": "VARCHAR",
        "published_at": "TIMESTAMP",
        "event_type": "VARCHAR",
        "legacy_event_type": "VARCHAR",
        "display_message": "VARCHAR",
        "severity": "VARCHAR",
        "actor_id": "VARCHAR",
        "actor_type": "VARCHAR",
        "actor_alternate_id": "VARCHAR",
        "actor_display_name": "VARCHAR",
        "app_instance_id": "VARCHAR",
        "app_display_name": "VARCHAR",
        "app_label": "VARCHAR",
        "app_user_id": "VARCHAR",
        "app_user_alternate_id": "VARCHAR",
        "outcome_result": "VARCHAR",
        "outcome_reason": "VARCHAR",
        "client_ip": "VARCHAR",
        "client_zone": "VARCHAR",
    },
    USERS: {
        "user_id": "VARCHAR",
        "login": "VARCHAR",
        "email": "VARCHAR",
        "status": "VARCHAR",
        "created_at": "TIMESTAMP",
        "activated_at": "TIMESTAMP",
        "status_changed_at": "TIMESTAMP",
        "last_login_at": "TIMESTAMP",
        "never_logged_in": "BOOLEAN",
        "deactivated_at": "TIMESTAMP",
    },
}

# Okta user-list column -> accepted normalised headers: the API field names as exported by
# common scripts, their `profile.` forms and the admin console's labels.
_USER_COLUMNS: list[tuple[str, str, tuple[str, ...]]] = [
    ("user_id", "VARCHAR", ("id", "user_id", "okta_id")),
    ("login", "VARCHAR", ("login", "profile_login", "username")),
    ("email", "VARCHAR", ("email", "profile_email", "primary_email")),
    ("status", "VARCHAR", ("status",)),
    ("created_at", "TIMESTAMP", ("created",)),
    ("activated_at", "TIMESTAMP", ("activated",)),
    ("status_changed_at", "TIMESTAMP", ("statuschanged", "status_changed")),
]
_LAST_LOGIN_HEADERS = ("lastlogin", "last_login")
_USER_REQUIRED = ("user_id", "login", "status")


def detect(path: Path, head: str) -> bool:
    """True for System Log JSON (an object or array holding `eventType`) or the user list CSV."""
    text = head.lstrip("\ufeff").lstrip()
    if text.startswith(("{", "[")):
        return '"eventType"' in text or '"uuid"' in text
    header = {normalise_header(name) for name in text.split("\n", 1)[0].split(",")}
    return "id" in header and "status" in header and bool(header & {"login", "profile_login"})


def parse_file(path: Path, **options: Any) -> ParsedFile:
    """Parse an Okta System Log export (NDJSON or a JSON array) or an Okta user list CSV.

    For the System Log, `notes["duplicate_uuids"]` counts records dropped because their `uuid`
    already landed from this file, so landed + rejected + duplicates == records_total.

    Raises SourceFileError for a file that is neither.
    """
    del options
    head = read_head(path).lstrip()
    if head.startswith("["):
        return _parse_events(path, _array_records(path))
    if head.startswith("{"):
        return _parse_events(path, _ndjson_records(path))
    # The CSV reader raises SourceFileError for an empty file.
    return _parse_users(path)


# System Log ----------------------------------------------------------------------------------


# (line or record number, raw text, decoded JSON, the decoding error, or the over-long line)
EventRecord = tuple[int, str, Any]


def _array_records(path: Path) -> Iterator[EventRecord]:
    """Yield the records of a file that is one JSON array, numbered by record.

    NOTE: the whole array is read into memory, because a JSON array cannot be split into
    records before it is parsed. NDJSON exports are read one line at a time.
    """
    try:
        records = json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise SourceFileError(
            f"{path}: the file starts with '[' but is not a valid JSON array ({error}). "
            "Export the System Log again as NDJSON or as one complete JSON array."
        ) from None
    for number, record in enumerate(records, start=1):
        yield number, json.dumps(record), record


def _ndjson_records(path: Path) -> Iterator[EventRecord]:
    """Yield the records of an NDJSON file, numbered by physical line, skipping blank lines."""
    for line in iter_text_lines(path):
        if line.too_long:
            yield line.number, line.text, line
            continue
        if not line.text.strip():
            continue
        try:
            yield line.number, line.text, json.loads(line.text)
        except json.JSONDecodeError as error:
            yield line.number, line.text, error


def _text(value: Any) -> str | None:
    """Return a JSON scalar as text, mapping None, '' and Okta's string "null" to None."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text in {"", "null"} else text


def _find_target(targets: Any, target_type: str) -> dict[str, Any]:
    if not isinstance(targets, list):
        return {}
    for target in targets:
        if isinstance(target, dict) and target.get("type") == target_type:
            return target
    return {}


def _event_row(event: dict[str, Any]) -> dict[str, Any]:
    """Flatten one LogEvent. Raises ValueError naming the field that is missing or invalid."""
    uuid = _text(event.get("uuid"))
    published = parse_datetime_cell(_text(event.get("published"))).value
    if published is None:
        raise ValueError(f"field 'published' is missing or empty (got {event.get('published')!r})")

    actor = event.get("actor") or {}
    client = event.get("client") or {}
    outcome = event.get("outcome") or {}
    app = _find_target(event.get("target"), "AppInstance")
    app_user = _find_target(event.get("target"), "AppUser")
    return {
        "uuid": uuid,
        "published_at": published,
        "event_type": _text(event.get("eventType")),
        "legacy_event_type": _text(event.get("legacyEventType")),
        "display_message": _text(event.get("displayMessage")),
        "severity": _text(event.get("severity")),
        "actor_id": _text(actor.get("id")),
        "actor_type": _text(actor.get("type")),
        "actor_alternate_id": _text(actor.get("alternateId")),
        "actor_display_name": _text(actor.get("displayName")),
        "app_instance_id": _text(app.get("id")),
        "app_display_name": _text(app.get("displayName")),
        "app_label": _text(app.get("alternateId")),
        "app_user_id": _text(app_user.get("id")),
        "app_user_alternate_id": _text(app_user.get("alternateId")),
        "outcome_result": _text(outcome.get("result")),
        "outcome_reason": _text(outcome.get("reason")),
        "client_ip": _text(client.get("ipAddress")),
        "client_zone": _text(client.get("zone")),
    }


def _parse_events(path: Path, records: Iterator[EventRecord]) -> ParsedFile:
    parsed = ParsedFile()
    landed_uuids: set[str] = set()
    duplicates = 0
    out_of_order = 0
    latest_published = None

    for number, raw_text, record in records:
        parsed.records_total += 1
        if isinstance(record, TextLine):
            parsed.reject(number, too_long_reason(record.length), raw_text)
            continue
        if isinstance(record, json.JSONDecodeError):
            parsed.reject(number, f"invalid JSON: {record.msg} at column {record.colno}", raw_text)
            continue
        if not isinstance(record, dict):
            parsed.reject(number, f"expected a JSON object, got {type(record).__name__}", raw_text)
            continue

        uuid = _text(record.get("uuid"))
        if uuid is None:
            parsed.reject(number, "field 'uuid' is missing or empty", raw_text)
            continue
        if uuid in landed_uuids:
            duplicates += 1
            continue

        try:
            row = _event_row(record)
        except ValueError as error:
            parsed.reject(number, str(error), raw_text)
            continue

        if latest_published is not None and row["published_at"] < latest_published:
            out_of_order += 1
        latest_published = max(latest_published or row["published_at"], row["published_at"])
        landed_uuids.add(uuid)
        row["_line_number"] = number
        parsed.add_row(EVENTS, row)

    parsed.notes["primary_table"] = EVENTS
    parsed.notes["duplicate_uuids"] = duplicates
    parsed.notes["out_of_order_events"] = out_of_order
    logger.info(
        "Parsed Okta System Log %s: %d records, %d landed, %d rejected, %d duplicate uuids",
        path,
        parsed.records_total,
        parsed.rows_landed,
        len(parsed.rejects),
        duplicates,
    )
    return parsed


# User list -----------------------------------------------------------------------------------


def _parse_users(path: Path) -> ParsedFile:
    header, records = read_csv_records(path)
    positions = header_positions(header)
    columns = [
        (name, kind, find_position(positions, aliases)) for name, kind, aliases in _USER_COLUMNS
    ]
    missing = [name for name, _, position in columns if name in _USER_REQUIRED and position is None]
    if missing:
        raise SourceFileError(
            f"{path}: not an Okta user list; the header has no {', '.join(missing)} column "
            "(expected id,login,email,status,created,activated,statusChanged,lastLogin in any "
            "order). Export users with every status, or move the file out of the okta folder."
        )
    last_login_position = find_position(positions, _LAST_LOGIN_HEADERS)
    labels = header_labels(path, header)

    parsed = ParsedFile.for_records(records)
    parsed.notes["primary_table"] = USERS
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
            label = labels[last_login_position] if last_login_position is not None else ""
            parsed.reject(line_number, f"column {label!r}: {conversion_error}", raw_text)
            continue
        if not row["user_id"]:
            parsed.reject(line_number, "column 'id' is empty", raw_text)
            continue

        row["status"] = row["status"].upper() if row["status"] else None
        row["last_login_at"] = last_login.value
        # Okta leaves lastLogin empty for users who never signed in, so empty means never here,
        # unless the export has no lastLogin column at all.
        row["never_logged_in"] = None
        if last_login_position is not None:
            row["never_logged_in"] = last_login.value is None
        row["deactivated_at"] = (
            row["status_changed_at"] if row["status"] == "DEPROVISIONED" else None
        )
        row["_line_number"] = line_number
        parsed.add_row(USERS, row)

    statuses = sorted({row["status"] for row in parsed.tables.get(USERS, []) if row["status"]})
    parsed.notes["statuses"] = statuses
    if "DEPROVISIONED" not in statuses:
        parsed.notes["deprovisioned_missing"] = (
            f"{path}: no DEPROVISIONED users; Okta's default user listing leaves them out, so "
            "export with a status filter that includes DEPROVISIONED if the organisation has any."
        )
    logger.info(
        "Parsed Okta user list %s: %d records, %d landed, %d rejected, statuses %s",
        path,
        parsed.records_total,
        parsed.rows_landed,
        len(parsed.rejects),
        ",".join(statuses),
    )
    return parsed
