"""Microsoft 365 usage-report CSVs from Graph `reports` functions and the admin-center export.

Columns are mapped by normalised header name because the column order in real responses differs
from the Graph docs (Teams user activity) and reports gain columns over time. Unknown columns are
ignored, missing optional columns load as NULL, and a row whose field count differs from the
header's is rejected. The module also contains the column-mapping helpers that the Okta, Entra ID
and Salesforce CSV connectors use.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from licpipe.connectors.base import (
    ZERO_GUID,
    ParsedFile,
    Schema,
    SourceFileError,
    is_concealed_identity,
    iso_duration_seconds,
    normalise_header,
    parse_datetime_cell,
    to_bool,
    to_date,
    to_float,
    to_int,
)
from licpipe.connectors.csv_records import read_csv_records
from licpipe.connectors.text_lines import read_first_line

logger = logging.getLogger(__name__)

# Column mapping shared by the CSV connectors ------------------------------------------------


def header_positions(header: Sequence[str]) -> dict[str, list[int]]:
    """Map each normalised header to its field positions, several when the header repeats."""
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(header):
        positions.setdefault(name, []).append(position)
    return positions


def find_position(positions: dict[str, list[int]], aliases: Iterable[str]) -> int | None:
    """Return the first field position of the first alias present in the header, else None."""
    for alias in aliases:
        if alias in positions:
            return positions[alias][0]
    return None


def field_at(fields: Sequence[str], position: int | None) -> str:
    """Return the stripped cell at `position`, or '' when the column is absent."""
    if position is None or position >= len(fields):
        return ""
    return fields[position].strip()


def header_labels(path: Path, header: Sequence[str], delimiter: str = ",") -> list[str]:
    """Return the header cells as exported (BOM and outer spaces removed), for messages.

    Falls back to the normalised names when the first line does not split into as many cells.
    """
    first_line = read_first_line(path)
    labels = [label.strip() for label in next(csv.reader([first_line], delimiter=delimiter), [])]
    return labels if len(labels) == len(header) else list(header)


def width_error(header: Sequence[str], fields: Sequence[str]) -> str | None:
    """Describe a row whose field count differs from the header's, else return None.

    A wider or narrower row means a cell was split or lost, so every later value would land in
    the wrong column.
    """
    if len(fields) == len(header):
        return None
    return (
        f"row has {len(fields)} fields but the header has {len(header)}; "
        "check for an unquoted comma or a truncated line"
    )


def convert_cell(duckdb_type: str, raw: str) -> Any:
    """Convert one cell to the Python value for a DuckDB column type. Raises ValueError."""
    if duckdb_type == "DATE":
        return to_date(raw)
    if duckdb_type == "TIMESTAMP":
        return parse_datetime_cell(raw).value
    if duckdb_type == "BOOLEAN":
        return to_bool(raw)
    if duckdb_type == "INTEGER":
        return to_int(raw)
    if duckdb_type == "DOUBLE":
        return to_float(raw)
    return raw or None


def convert_columns(
    columns: Iterable[tuple[str, str, int | None]], fields: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Convert the cells of one row for (column, DuckDB type, position) triples.

    Raises ValueError naming the export header and the value of the first cell that fails.
    """
    row: dict[str, Any] = {}
    for column, duckdb_type, position in columns:
        raw = field_at(fields, position)
        try:
            row[column] = convert_cell(duckdb_type, raw)
        except ValueError as error:
            label = labels[position] if position is not None else column
            raise ValueError(f"column {label!r}: {error}") from None
    return row


# Report layouts ------------------------------------------------------------------------------

SERVICES = ("exchange", "onedrive", "sharepoint", "skype_for_business", "yammer", "teams")

ACTIVE_USER_DETAIL = "m365_active_user_detail"
ACTIVE_USER_COUNTS = "m365_active_user_counts"
APP_USER_DETAIL = "m365_app_user_detail"
TEAMS_USER_ACTIVITY = "m365_teams_user_activity"
ACTIVATIONS_USER_DETAIL = "m365_activations_user_detail"
ASSIGNED_PRODUCTS = "m365_assigned_products"

# Columns read from the file as (column, DuckDB type), where the column is the normalised header.
_DETAIL_FILE_COLUMNS: list[tuple[str, str]] = [
    ("report_refresh_date", "DATE"),
    ("report_period", "INTEGER"),
    ("user_principal_name", "VARCHAR"),
    ("display_name", "VARCHAR"),
    ("is_deleted", "BOOLEAN"),
    ("deleted_date", "DATE"),
    *[(f"has_{service}_license", "BOOLEAN") for service in SERVICES],
    *[(f"{service}_last_activity_date", "DATE") for service in SERVICES],
    *[(f"{service}_license_assign_date", "DATE") for service in SERVICES],
    ("assigned_products", "VARCHAR"),
]

_COUNTS_FILE_COLUMNS: list[tuple[str, str]] = [
    ("report_refresh_date", "DATE"),
    ("report_date", "DATE"),
    ("office_365", "INTEGER"),
    *[(service, "INTEGER") for service in SERVICES],
    ("report_period", "INTEGER"),
]

_APP_PLATFORMS = ("windows", "mac", "mobile", "web")
_APPS = ("outlook", "word", "excel", "powerpoint", "onenote", "teams")
_APP_FILE_COLUMNS: list[tuple[str, str]] = [
    ("report_refresh_date", "DATE"),
    ("user_principal_name", "VARCHAR"),
    ("last_activation_date", "DATE"),
    ("last_activity_date", "DATE"),
    ("report_period", "INTEGER"),
    *[(platform, "BOOLEAN") for platform in _APP_PLATFORMS],
    *[(app, "BOOLEAN") for app in _APPS],
    *[(f"{app}_{platform}", "BOOLEAN") for platform in _APP_PLATFORMS for app in _APPS],
]

_TEAMS_COUNTS = (
    "team_chat_message_count",
    "private_chat_message_count",
    "call_count",
    "meeting_count",
    "post_messages",
    "reply_messages",
    "urgent_messages",
    "meetings_organized_count",
    "meetings_attended_count",
    "ad_hoc_meetings_organized_count",
    "ad_hoc_meetings_attended_count",
    "scheduled_one_time_meetings_organized_count",
    "scheduled_one_time_meetings_attended_count",
    "scheduled_recurring_meetings_organized_count",
    "scheduled_recurring_meetings_attended_count",
)
_TEAMS_DURATIONS = ("audio_duration", "video_duration", "screen_share_duration")
_TEAMS_FILE_COLUMNS: list[tuple[str, str]] = [
    ("report_refresh_date", "DATE"),
    ("report_period", "INTEGER"),
    ("tenant_display_name", "VARCHAR"),
    ("shared_channel_tenant_display_names", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("user_principal_name", "VARCHAR"),
    ("last_activity_date", "DATE"),
    ("is_deleted", "BOOLEAN"),
    ("deleted_date", "DATE"),
    ("assigned_products", "VARCHAR"),
    *[(name, "INTEGER") for name in _TEAMS_COUNTS],
    ("has_other_action", "BOOLEAN"),
    ("is_licensed", "BOOLEAN"),
]

_ACTIVATIONS_FILE_COLUMNS: list[tuple[str, str]] = [
    ("report_refresh_date", "DATE"),
    ("user_principal_name", "VARCHAR"),
    ("display_name", "VARCHAR"),
    ("product_type", "VARCHAR"),
    ("last_activated_date", "DATE"),
    ("windows", "INTEGER"),
    ("mac", "INTEGER"),
    ("windows_10_mobile", "INTEGER"),
    ("ios", "INTEGER"),
    ("android", "INTEGER"),
    ("activated_on_shared_computer", "BOOLEAN"),
]

_FILE_COLUMNS: dict[str, list[tuple[str, str]]] = {
    ACTIVE_USER_DETAIL: _DETAIL_FILE_COLUMNS,
    ACTIVE_USER_COUNTS: _COUNTS_FILE_COLUMNS,
    APP_USER_DETAIL: _APP_FILE_COLUMNS,
    TEAMS_USER_ACTIVITY: _TEAMS_FILE_COLUMNS,
    ACTIVATIONS_USER_DETAIL: _ACTIVATIONS_FILE_COLUMNS,
}

# Columns that need every row of the report; a file without them cannot be used.
_REQUIRED: dict[str, tuple[str, ...]] = {
    ACTIVE_USER_DETAIL: ("report_refresh_date", "user_principal_name"),
    ACTIVE_USER_COUNTS: ("report_refresh_date", "report_date"),
    APP_USER_DETAIL: ("report_refresh_date", "user_principal_name"),
    TEAMS_USER_ACTIVITY: ("report_refresh_date", "user_principal_name"),
    ACTIVATIONS_USER_DETAIL: ("report_refresh_date", "user_principal_name"),
}

# Graph report function names, used in error messages and the assigned-products `report` column.
_REPORT_NAMES = {
    ACTIVE_USER_DETAIL: "getOffice365ActiveUserDetail",
    ACTIVE_USER_COUNTS: "getOffice365ActiveUserCounts",
    APP_USER_DETAIL: "getM365AppUserDetail",
    TEAMS_USER_ACTIVITY: "getTeamsUserActivityUserDetail",
    ACTIVATIONS_USER_DETAIL: "getOffice365ActivationsUserDetail",
}


def _schema(columns: list[tuple[str, str]], extra: list[tuple[str, str]]) -> Schema:
    return dict(columns + extra)


SCHEMAS: dict[str, Schema] = {
    ACTIVE_USER_DETAIL: _schema(
        _DETAIL_FILE_COLUMNS[:2] + [("report_date", "DATE")] + _DETAIL_FILE_COLUMNS[2:],
        [("is_concealed", "BOOLEAN")],
    ),
    ACTIVE_USER_COUNTS: _schema(_COUNTS_FILE_COLUMNS, []),
    APP_USER_DETAIL: _schema(_APP_FILE_COLUMNS, [("is_concealed", "BOOLEAN")]),
    TEAMS_USER_ACTIVITY: _schema(
        _TEAMS_FILE_COLUMNS,
        [(f"{name}_seconds", "DOUBLE") for name in _TEAMS_DURATIONS]
        + [("is_concealed", "BOOLEAN")],
    ),
    ACTIVATIONS_USER_DETAIL: _schema(_ACTIVATIONS_FILE_COLUMNS, [("is_concealed", "BOOLEAN")]),
    ASSIGNED_PRODUCTS: {
        "report_refresh_date": "DATE",
        "user_principal_name": "VARCHAR",
        "product": "VARCHAR",
        "report": "VARCHAR",
        "is_concealed": "BOOLEAN",
    },
}

CONCEALED_SETTING = (
    "turn off 'Display concealed user, group, and site names in all reports' in the "
    "Microsoft 365 admin center > Settings > Org settings > Services > Reports "
    "(Graph: PATCH admin/reportSettings with displayConcealedNames=false), then export the "
    "report again"
)

# `date=2026-12-01` or `_2026-12-01` in a file name: the day a daily pull reports on.
_NAME_DATE = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")
# `period=D30`, `period='D30'` or `_D30` in a file name: the report period in days.
_NAME_PERIOD = re.compile(r"(?:period=?'?|_)D(\d{1,3})\b", re.IGNORECASE)


# Detection -----------------------------------------------------------------------------------


def _report_kind(header: Sequence[str]) -> str | None:
    names = set(header)
    if "report_refresh_date" not in names:
        return None
    if "product_type" in names and "last_activated_date" in names:
        return ACTIVATIONS_USER_DETAIL
    if names & {"team_chat_message_count", "private_chat_message_count", "meeting_count"}:
        return TEAMS_USER_ACTIVITY
    if names & {"last_activation_date", "outlook_windows", "word_windows"}:
        return APP_USER_DETAIL
    if "office_365" in names and "user_principal_name" not in names:
        return ACTIVE_USER_COUNTS
    service_columns = {
        f"{prefix}{service}{suffix}"
        for service in SERVICES
        for prefix, suffix in (("has_", "_license"), ("", "_last_activity_date"))
    }
    if "user_principal_name" in names and names & (service_columns | {"assigned_products"}):
        return ACTIVE_USER_DETAIL
    return None


def _first_line_header(head: str) -> list[str]:
    first_line = head.lstrip("\ufeff").split("\n", 1)[0]
    return [normalise_header(name) for name in first_line.split(",")]


def detect(path: Path, head: str) -> bool:
    """True when the first line is the header of a supported Microsoft 365 usage report."""
    return _report_kind(_first_line_header(head)) is not None


# Parsing -------------------------------------------------------------------------------------


def split_products(assigned_products: str | None) -> list[str]:
    """Split an `Assigned Products` cell on `+`, never on `,`, because SKU names contain commas."""
    if not assigned_products:
        return []
    products: list[str] = []
    for product in assigned_products.split("+"):
        product = product.strip()
        if product and product not in products:
            products.append(product)
    return products


def _period_from_name(path: Path) -> int | None:
    match = _NAME_PERIOD.search(path.stem)
    return int(match.group(1)) if match else None


def _date_from_name(path: Path) -> date | None:
    matches = _NAME_DATE.findall(path.stem)
    if not matches:
        return None
    try:
        return date.fromisoformat(matches[-1])
    except ValueError:
        return None


def _teams_durations(
    fields: Sequence[str], positions: dict[str, list[int]], labels: Sequence[str]
) -> dict[str, float | None]:
    """Return each Teams duration in seconds, preferring the integer `... In Seconds` column.

    The ISO-8601 column (`PT1H2M3S`) is the fallback, and the two must agree within a second.
    """
    durations: dict[str, float | None] = {}
    for name in _TEAMS_DURATIONS:
        iso_position = find_position(positions, [name])
        seconds_position = find_position(positions, [f"{name}_in_seconds"])
        iso_label = labels[iso_position] if iso_position is not None else name
        seconds_label = labels[seconds_position] if seconds_position is not None else name
        try:
            from_iso = iso_duration_seconds(field_at(fields, iso_position))
        except ValueError as error:
            raise ValueError(f"column {iso_label!r}: {error}") from None
        try:
            from_seconds = to_float(field_at(fields, seconds_position))
        except ValueError as error:
            raise ValueError(f"column {seconds_label!r}: {error}") from None
        if from_iso is not None and from_seconds is not None and abs(from_iso - from_seconds) > 1:
            raise ValueError(
                f"column {iso_label!r} is {from_iso:g} s but {seconds_label!r} is "
                f"{from_seconds:g} s; the two durations must agree"
            )
        durations[f"{name}_seconds"] = from_seconds if from_seconds is not None else from_iso
    return durations


def _concealed_message(path: Path, concealed: int, identities: int) -> str:
    return (
        f"{path}: {concealed} of {identities} identities are concealed (32-character hex "
        f"tokens, the all-zero GUID or '(Unknown)') and cannot be matched to people; "
        f"{CONCEALED_SETTING}."
    )


def parse_file(path: Path, report_date: date | None = None, **options: Any) -> ParsedFile:
    """Parse one Microsoft 365 usage-report CSV into its raw table.

    Args:
        path: the CSV file, UTF-8 with or without a BOM.
        report_date: the `date=` parameter of a daily pull, overriding the date in the file name.
        options: accepted and ignored, so the loader can pass one option set to every connector.

    `report_date` in the active user detail table comes from the argument or else from a date in
    the file name (`date=2026-12-01` or `_2026-12-01`). Without either, a file whose header and
    name give no report period is a daily pull dated by its refresh date, and a period pull
    gets NULL. `notes` records the source used, the concealed-identity counts and, when rows are
    concealed, a message naming the admin setting that reveals real names.

    Raises SourceFileError for a file that is not a supported report.
    """
    del options
    header, records = read_csv_records(path, delimiter=",")
    table = _report_kind(header)
    if table is None:
        raise SourceFileError(
            f"{path}: the header is not a supported Microsoft 365 usage report (expected "
            f"{', '.join(_REPORT_NAMES.values())} with a 'Report Refresh Date' column). "
            "Export the report as CSV from Graph or the admin center, or move the file out of "
            "the m365 landing folder."
        )

    positions = header_positions(header)
    missing = [name for name in _REQUIRED[table] if name not in positions]
    if missing:
        raise SourceFileError(
            f"{path}: the {_REPORT_NAMES[table]} report has no {', '.join(missing)} column. "
            "Export the full report; the columns are matched by name, in any order."
        )

    parsed = ParsedFile.for_records(records)
    parsed.notes["report"] = _REPORT_NAMES[table]
    parsed.notes["primary_table"] = table
    labels = header_labels(path, header)
    columns = [
        (name, kind, find_position(positions, [name])) for name, kind in _FILE_COLUMNS[table]
    ]
    file_period = _period_from_name(path)
    file_date = report_date or _date_from_name(path)
    is_user_table = table != ACTIVE_USER_COUNTS
    identity_rows = 0
    concealed_rows = 0

    for line_number, fields, raw_text in records:
        error = width_error(header, fields)
        if error:
            parsed.reject(line_number, error, raw_text)
            continue

        try:
            row = convert_columns(columns, fields, labels)
            if table == TEAMS_USER_ACTIVITY:
                row.update(_teams_durations(fields, positions, labels))
        except ValueError as conversion_error:
            parsed.reject(line_number, str(conversion_error), raw_text)
            continue
        if row["report_refresh_date"] is None:
            parsed.reject(line_number, "column 'Report Refresh Date' is empty", raw_text)
            continue
        if is_user_table and not row["user_principal_name"]:
            parsed.reject(line_number, "column 'User Principal Name' is empty", raw_text)
            continue

        if table == ACTIVE_USER_DETAIL:
            _fill_report_window(row, file_period, file_date, parsed)
        elif row.get("report_period") is None and "report_period" in row:
            row["report_period"] = file_period

        if is_user_table:
            row["is_concealed"] = is_concealed_identity(row["user_principal_name"]) or (
                row.get("user_id") == ZERO_GUID
            )
            identity_rows += 1
            concealed_rows += row["is_concealed"]

        row["_line_number"] = line_number
        parsed.add_row(table, row)
        for product in split_products(row.get("assigned_products")):
            parsed.add_row(
                ASSIGNED_PRODUCTS,
                {
                    "report_refresh_date": row["report_refresh_date"],
                    "user_principal_name": row["user_principal_name"],
                    "product": product,
                    "report": _REPORT_NAMES[table],
                    "is_concealed": row["is_concealed"],
                    "_line_number": line_number,
                },
            )

    if is_user_table:
        parsed.notes["identity_rows"] = identity_rows
        parsed.notes["concealed_rows"] = concealed_rows
        if concealed_rows:
            message = _concealed_message(path, concealed_rows, identity_rows)
            parsed.notes["concealed_message"] = message
            logger.warning("%s", message)

    logger.info(
        "Parsed %s as %s: %d records, %d landed, %d rejected",
        path,
        _REPORT_NAMES[table],
        parsed.records_total,
        len(parsed.tables.get(table, [])),
        len(parsed.rejects),
    )
    return parsed


def _fill_report_window(
    row: dict[str, Any], file_period: int | None, file_date: date | None, parsed: ParsedFile
) -> None:
    """Set `report_period` and `report_date` of an active user detail row (see `parse_file`)."""
    if row["report_period"] is None:
        row["report_period"] = file_period
    if file_date is not None:
        row["report_date"] = file_date
        parsed.notes["report_date_source"] = "file name or option"
    elif row["report_period"] is None:
        # NOTE: a period pull saved without a Report Period column or a `D<n>` in its name is
        # indistinguishable from a daily pull, so it is dated by its refresh date too.
        row["report_date"] = row["report_refresh_date"]
        parsed.notes["report_date_source"] = "report refresh date"
    else:
        row["report_date"] = None
        parsed.notes["report_date_source"] = "none (period pull)"
