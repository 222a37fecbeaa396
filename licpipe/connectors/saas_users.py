"""User lists from Google Workspace, Zoom and Atlassian, with their last-login columns.

One module reads all three because they share the hard part: last-login cells that contain
dates, sentinels such as `Never logged in` or `Never Accessed` (any case), the Unix epoch, or
nothing.
A sentinel or the epoch becomes NULL with `never_logged_in` True. An empty cell becomes NULL
with the flag NULL, because none of these exports documents what an empty cell means.

Atlassian product access goes to a second, long table (`atlassian_product_access`), one row per
user and product the user can reach, so `rows_landed` of an Atlassian file also counts those
rows. The user table alone has one row per data line.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from datetime import date
from pathlib import Path
from typing import Any

from licpipe.connectors.base import (
    DateValue,
    ParsedFile,
    SourceFileError,
    normalise_header,
    parse_datetime_cell,
    read_text,
    sniff_delimiter,
    to_bool,
    to_int,
)
from licpipe.connectors.csv_records import read_csv_records
from licpipe.connectors.text_lines import read_first_line, read_head

logger = logging.getLogger(__name__)

GOOGLE_TABLE = "google_users"
ZOOM_TABLE = "zoom_users"
ATLASSIAN_TABLE = "atlassian_users"
ACCESS_TABLE = "atlassian_product_access"

SCHEMAS: dict[str, dict[str, str]] = {
    GOOGLE_TABLE: {
        "email": "VARCHAR",
        "first_name": "VARCHAR",
        "last_name": "VARCHAR",
        "org_unit_path": "VARCHAR",
        "status": "VARCHAR",
        "employee_id": "VARCHAR",
        "employee_title": "VARCHAR",
        "department": "VARCHAR",
        "manager_email": "VARCHAR",
        "cost_center": "VARCHAR",
        "is_2sv_enrolled": "BOOLEAN",
        "is_2sv_enforced": "BOOLEAN",
        "last_sign_in_at": "TIMESTAMP",
        "never_logged_in": "BOOLEAN",
    },
    ZOOM_TABLE: {
        "user_id": "VARCHAR",
        "email": "VARCHAR",
        "first_name": "VARCHAR",
        "last_name": "VARCHAR",
        "user_type": "INTEGER",
        "license_type": "VARCHAR",
        "status": "VARCHAR",
        "department": "VARCHAR",
        "role_id": "VARCHAR",
        "timezone": "VARCHAR",
        "last_client_version": "VARCHAR",
        "created_at": "TIMESTAMP",
        "last_login_at": "TIMESTAMP",
        "never_logged_in": "BOOLEAN",
    },
    ATLASSIAN_TABLE: {
        "export_kind": "VARCHAR",
        "user_id": "VARCHAR",
        "username": "VARCHAR",
        "full_name": "VARCHAR",
        "email": "VARCHAR",
        "status": "VARCHAR",
        "is_active": "BOOLEAN",
        "group_name": "VARCHAR",
        "added_to_org": "DATE",
        "last_login_at": "TIMESTAMP",
        "last_session_at": "TIMESTAMP",
        "last_active_on": "DATE",
        "never_logged_in": "BOOLEAN",
    },
    ACCESS_TABLE: {
        "user_id": "VARCHAR",
        "username": "VARCHAR",
        "email": "VARCHAR",
        "product": "VARCHAR",
        "site": "VARCHAR",
        "last_seen_on": "DATE",
        "never_accessed": "BOOLEAN",
    },
}

# Column -> accepted normalised headers, first match wins. Google's bracketed suffixes such as
# `[READ ONLY]` are removed before matching.
GOOGLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "email": ("email_address", "primaryemail", "primary_email", "email"),
    "first_name": ("first_name", "name_givenname", "givenname"),
    "last_name": ("last_name", "name_familyname", "familyname"),
    "org_unit_path": ("org_unit_path", "orgunitpath"),
    "status": ("status",),
    "employee_id": ("employee_id",),
    "employee_title": ("employee_title",),
    "department": ("department",),
    "manager_email": ("manager_email",),
    "cost_center": ("cost_center",),
    "is_2sv_enrolled": ("2sv_enrolled", "isenrolledin2sv"),
    "is_2sv_enforced": ("2sv_enforced", "isenforcedin2sv"),
    "last_sign_in_at": ("last_sign_in", "lastlogintime", "last_login", "last_login_time"),
}
ZOOM_COLUMNS: dict[str, tuple[str, ...]] = {
    "user_id": ("id", "user_id"),
    "email": ("email", "email_address"),
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "user_type": ("type", "user_type", "license_type"),
    "status": ("status",),
    "department": ("dept", "department"),
    "role_id": ("role_id", "role"),
    "timezone": ("timezone",),
    "last_client_version": ("last_client_version", "client_version"),
    "created_at": ("created_at", "created", "user_created"),
    "last_login_at": ("last_login_time", "last_login"),
}
ATLASSIAN_COLUMNS: dict[str, tuple[str, ...]] = {
    "user_id": ("user_id", "atlassian_id", "account_id"),
    "username": ("username",),
    "full_name": ("full_name", "user_name", "name"),
    "email": ("email", "email_address"),
    "status": ("user_status", "status"),
    "is_active": ("active",),
    "group_name": ("group_name", "groups"),
    "added_to_org": ("added_to_org",),
    "last_login_at": ("last_login",),
    "last_session_at": ("last_session",),
    "last_active_on": ("last_active",),
}

# Zoom user `type`: 1 Basic, 2 Licensed, 3 On-prem (older accounts), 4 Unassigned, 99 None.
ZOOM_LICENSE_TYPES: dict[int, str] = {
    1: "basic",
    2: "licensed",
    3: "on_prem",
    4: "unassigned",
    99: "none",
}
_GOOGLE_SUFFIX = re.compile(r"_(?:required|read_only|upload_only|must_be_in_the_e_164_format)$")
_LAST_SEEN = re.compile(r"^last seen in (?P<product>.+?)(?: - (?P<site>[^-].*))?$", re.IGNORECASE)
_ZOOM_MARKERS = {"pmi", "last_client_version", "plan_united_type", "role_id", "type", "user_type"}


def detect(path: Path, head: str) -> bool:
    """Recognise a Google, Zoom or Atlassian user export by its header or JSON keys."""
    stripped = head.lstrip("\ufeff").lstrip()
    if stripped.startswith(("[", "{")):
        return "last_login_time" in stripped or '"users"' in stripped
    first_line = stripped.split("\n", 1)[0].rstrip("\r")
    if not first_line:
        return False
    raw_header = next(csv.reader([first_line], delimiter=sniff_delimiter(first_line)))
    return _export_kind([normalise_header(name) for name in raw_header]) is not None


def parse_file(path: Path, source: str | None = None, **_options: Any) -> ParsedFile:
    """Parse one user export into the table for its source.

    `source` (google, zoom, atlassian) skips header detection, for files whose header fits
    more than one export. Raises SourceFileError for an unknown header or invalid JSON.
    """
    head = read_head(path)
    if head.lstrip().startswith(("[", "{")):
        parsed = _parse_zoom_json(path, read_text(path))
        _log_counts(path, "zoom", parsed)
        return parsed

    header, records = read_csv_records(path)
    kind = _export_kind(header, source)
    if kind is None:
        raise SourceFileError(
            f"{path}: unknown user export header {header[:8]}. Expected a Google Admin users "
            "download (Email Address [Required], Last Sign In [READ ONLY], ...), a Zoom users "
            "export (email, type, last_login_time, ...) or an Atlassian export (group_name, "
            "username, ..., last_login, or `Last seen in <Product> - <site>` columns)."
        )

    if kind == "google":
        parsed = _parse_flat(path, header, records, GOOGLE_TABLE, _google_header(header))
    elif kind == "zoom":
        parsed = _parse_flat(path, header, records, ZOOM_TABLE, header)
    else:
        parsed = _parse_atlassian(path, kind, header, _raw_header(read_first_line(path)), records)
    _log_counts(path, kind, parsed)
    return parsed


def _export_kind(header: list[str], source: str | None = None) -> str | None:
    names = set(header)
    google_names = set(_google_header(header))
    is_atlassian_admin = any(name.startswith("last_seen_in_") for name in names) or (
        "atlassian_id" in names
    )
    is_atlassian_site = {"username", "last_login"} <= names and (
        "group_name" in names or "last_session" in names
    )
    is_zoom = "last_login_time" in names and bool(_ZOOM_MARKERS & names)
    has_google_login = bool({"last_sign_in", "lastlogintime", "last_login"} & google_names)
    is_google = has_google_login and bool({"email_address", "primaryemail", "email"} & google_names)

    if source is not None and source not in {"google", "zoom", "atlassian"}:
        raise ValueError(f"source must be google, zoom or atlassian, got {source!r}")
    if source in (None, "atlassian") and is_atlassian_admin:
        return "atlassian_admin"
    if source in (None, "atlassian") and is_atlassian_site:
        return "atlassian_site"
    if source in (None, "zoom") and is_zoom:
        return "zoom"
    if source in (None, "google") and is_google:
        return "google"
    return None


def _parse_flat(
    path: Path,
    header: list[str],
    records: list[tuple[int, list[str], str]],
    table: str,
    match_header: list[str],
) -> ParsedFile:
    """Parse a Google or Zoom export: one user per line with one last-login column."""
    columns = GOOGLE_COLUMNS if table == GOOGLE_TABLE else ZOOM_COLUMNS
    index = _column_index(match_header, columns)
    login_column = "last_sign_in_at" if table == GOOGLE_TABLE else "last_login_at"

    parsed = ParsedFile.for_records(records)
    for line_number, fields, raw in records:
        if len(fields) != len(header):
            parsed.reject(line_number, _width_reason(header, fields), raw)
            continue
        values = {column: fields[position].strip() for column, position in index.items()}
        try:
            row = _user_row(table, values, login_column)
        except ValueError as error:
            parsed.reject(line_number, str(error), raw)
            continue
        if not row["email"]:
            parsed.reject(line_number, "the e-mail column is empty. Re-export the user list", raw)
            continue
        row["_line_number"] = line_number
        parsed.add_row(table, row)
    return parsed


def _user_row(table: str, values: dict[str, str], login_column: str) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for column, kind in SCHEMAS[table].items():
        text = values.get(column, "")
        if column == login_column:
            login = _login_cell(column, text)
            row[column] = login.value
            row["never_logged_in"] = login.is_never
        elif column == "never_logged_in" or column == "license_type":
            continue
        elif column == "user_type":
            row["user_type"], row["license_type"] = _zoom_type(text)
        elif kind == "TIMESTAMP":
            row[column] = _login_cell(column, text).value
        elif kind == "BOOLEAN":
            row[column] = _bool_cell(column, text)
        else:
            row[column] = text or None
    return row


def _parse_zoom_json(path: Path, text: str) -> ParsedFile:
    """Read Zoom `GET /users` responses: one page object, a list of pages, or a list of users."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise SourceFileError(
            f"{path}: invalid JSON at line {error.lineno}: {error.msg}. Save the Zoom API "
            "response unchanged."
        ) from None
    pages = document if isinstance(document, list) else [document]
    users: list[Any] = []
    for page in pages:
        if isinstance(page, dict) and isinstance(page.get("users"), list):
            users.extend(page["users"])
        else:
            users.append(page)

    parsed = ParsedFile(records_total=len(users))
    for number, user in enumerate(users, start=1):
        raw = json.dumps(user, sort_keys=True, default=str)
        if not isinstance(user, dict):
            parsed.reject(number, f"record {number} is not a JSON object of user fields", raw)
            continue
        flat = {
            normalise_header(key): "" if value is None else str(value)
            for key, value in user.items()
        }
        values: dict[str, str] = {}
        for column, names in ZOOM_COLUMNS.items():
            name = next((name for name in names if name in flat), None)
            if name is not None:
                values[column] = flat[name].strip()
        try:
            row = _user_row(ZOOM_TABLE, values, "last_login_at")
        except ValueError as error:
            parsed.reject(number, str(error), raw)
            continue
        if not row["email"]:
            parsed.reject(number, "field email is missing or empty", raw)
            continue
        row["_line_number"] = number
        parsed.add_row(ZOOM_TABLE, row)
    return parsed


def _parse_atlassian(
    path: Path,
    kind: str,
    header: list[str],
    raw_header: list[str],
    records: list[tuple[int, list[str], str]],
) -> ParsedFile:
    """Parse a legacy site export (one line per group membership) or an admin.atlassian.com one.

    Product access rows are written once per user, because the site export repeats each user's
    product columns on every group line.
    """
    index = _column_index(header, ATLASSIAN_COLUMNS)
    user_columns = set(index.values())
    product_columns = _product_columns(kind, raw_header, user_columns)

    parsed = ParsedFile.for_records(records)
    seen_users: set[str] = set()
    for line_number, fields, raw in records:
        if len(fields) != len(header):
            parsed.reject(line_number, _width_reason(header, fields), raw)
            continue
        values = {column: fields[position].strip() for column, position in index.items()}
        try:
            user, access = _atlassian_user(kind, values, fields, raw_header, product_columns)
        except ValueError as error:
            parsed.reject(line_number, str(error), raw)
            continue
        if not (user["email"] or user["username"] or user["user_id"]):
            parsed.reject(line_number, "email, username and user id are all empty", raw)
            continue

        user["_line_number"] = line_number
        parsed.add_row(ATLASSIAN_TABLE, user)
        user_key = (user["user_id"] or user["username"] or user["email"] or "").lower()
        if user_key in seen_users:
            continue
        seen_users.add(user_key)
        for product_row in access:
            product_row.update(
                {
                    "user_id": user["user_id"],
                    "username": user["username"],
                    "email": user["email"],
                    "_line_number": line_number,
                }
            )
            parsed.add_row(ACCESS_TABLE, product_row)
    parsed.notes["users"] = len(parsed.tables.get(ATLASSIAN_TABLE, []))
    parsed.notes["product_access_rows"] = len(parsed.tables.get(ACCESS_TABLE, []))
    return parsed


def _product_columns(
    kind: str, raw_header: list[str], user_columns: set[int]
) -> dict[int, tuple[str, str | None]]:
    """Map column position -> (product, site) for the product columns of an Atlassian export."""
    products: dict[int, tuple[str, str | None]] = {}
    for position, name in enumerate(raw_header):
        if position in user_columns:
            continue
        match = _LAST_SEEN.match(name.strip())
        if kind == "atlassian_admin" and match:
            products[position] = (match.group("product").strip(), _site(match.group("site")))
        elif kind == "atlassian_site":
            # Every other column in the site export is a Yes/No access flag for one product.
            products[position] = (name.strip(), None)
    return products


def _site(text: str | None) -> str | None:
    return text.strip() if text else None


def _atlassian_user(
    kind: str,
    values: dict[str, str],
    fields: list[str],
    raw_header: list[str],
    product_columns: dict[int, tuple[str, str | None]],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    last_login = _login_cell("last_login", values.get("last_login_at", ""))
    user: dict[str, Any] = {
        "export_kind": "site" if kind == "atlassian_site" else "admin",
        "user_id": values.get("user_id") or None,
        "username": values.get("username") or None,
        "full_name": values.get("full_name") or None,
        "email": values.get("email") or None,
        "status": values.get("status") or None,
        "is_active": _bool_cell("active", values.get("is_active", "")),
        "group_name": values.get("group_name") or None,
        "added_to_org": _date_value(_login_cell("added_to_org", values.get("added_to_org", ""))),
        "last_login_at": last_login.value,
        "last_session_at": _login_cell("last_session", values.get("last_session_at", "")).value,
        "last_active_on": _date_value(_login_cell("last_active", values.get("last_active_on", ""))),
        "never_logged_in": last_login.is_never,
    }

    access: list[dict[str, Any]] = []
    for position, (product, site) in product_columns.items():
        text = fields[position].strip()
        if kind == "atlassian_site":
            if text.lower() in {"yes", "true", "1"}:
                access.append(
                    {"product": product, "site": None, "last_seen_on": None, "never_accessed": None}
                )
            # No, empty or free text: no access row, because only Yes grants the product.
            continue
        if not text:
            # An empty cell in the admin export means the user has no access to the product.
            continue
        seen = _login_cell(raw_header[position], text)
        access.append(
            {
                "product": product,
                "site": site,
                "last_seen_on": _date_value(seen),
                "never_accessed": seen.is_never,
            }
        )

    if kind == "atlassian_admin":
        _summarise_admin_access(user, access)
    return user, access


def _summarise_admin_access(user: dict[str, Any], access: list[dict[str, Any]]) -> None:
    """Derive the user's last activity and never-logged-in flag from the product columns."""
    seen_dates = [row["last_seen_on"] for row in access if row["last_seen_on"]]
    if seen_dates and user["last_active_on"] is None:
        user["last_active_on"] = max(seen_dates)
    if user["never_logged_in"] is None and access:
        user["never_logged_in"] = not seen_dates and all(row["never_accessed"] for row in access)


def _login_cell(column: str, text: str) -> DateValue:
    try:
        return parse_datetime_cell(text)
    except ValueError:
        raise ValueError(
            f"column {column}: invalid date {text!r}. Expected a date, a time or a sentinel "
            "such as `Never logged in`"
        ) from None


def _date_value(value: DateValue) -> date | None:
    return value.value.date() if value.value else None


def _bool_cell(column: str, text: str) -> bool | None:
    try:
        return to_bool(text)
    except ValueError:
        raise ValueError(f"column {column}: {text!r} is not Yes/No, True/False or 1/0") from None


def _zoom_type(text: str) -> tuple[int | None, str | None]:
    """Convert Zoom's user type, given as a number (API) or as its name (web export)."""
    if not text:
        return None, None
    by_name = {name.replace("_", "-"): number for number, name in ZOOM_LICENSE_TYPES.items()}
    name_key = text.strip().lower().replace(" ", "-").replace("_", "-")
    if name_key in by_name:
        number = by_name[name_key]
    else:
        try:
            number = to_int(text)
        except ValueError:
            raise ValueError(
                f"column type: unknown Zoom user type {text!r}. Expected 1 (Basic), "
                "2 (Licensed), 3 (On-prem), 4 (Unassigned) or 99 (None)"
            ) from None
    return number, ZOOM_LICENSE_TYPES.get(number or 0)


def _google_header(header: list[str]) -> list[str]:
    return [_GOOGLE_SUFFIX.sub("", name) for name in header]


def _raw_header(text: str) -> list[str]:
    first_line = text.split("\n", 1)[0]
    return next(csv.reader(io.StringIO(first_line), delimiter=sniff_delimiter(first_line)))


def _column_index(header: list[str], columns: dict[str, tuple[str, ...]]) -> dict[str, int]:
    index: dict[str, int] = {}
    for column, names in columns.items():
        for name in names:
            if name in header:
                index[column] = header.index(name)
                break
    return index


def _width_reason(header: list[str], fields: list[str]) -> str:
    return (
        f"row has {len(fields)} fields but the header has {len(header)}. "
        "Check for an unquoted comma or a truncated line"
    )


def _log_counts(path: Path, kind: str, parsed: ParsedFile) -> None:
    logger.info(
        "Parsed %s user export %s: %d records, %d rows landed, %d rejected",
        kind,
        path.name,
        parsed.records_total,
        parsed.rows_landed,
        len(parsed.rejects),
    )
