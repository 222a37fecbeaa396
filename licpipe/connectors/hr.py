"""HR directory CSV: one row per employee or contractor.

Headers differ between HR systems, so common aliases are accepted (`mail`, `title`,
`sam_account_name`, `start_date`, ...). Status is normalised to `active`, `terminated` or
`leave`, and the exported value is kept in `status_raw`.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

from licpipe.connectors.base import (
    ParsedFile,
    SourceFileError,
    to_date,
    to_float,
)
from licpipe.connectors.csv_records import read_csv_records

logger = logging.getLogger(__name__)

TABLE = "hr_directory"

SCHEMAS: dict[str, dict[str, str]] = {
    TABLE: {
        "employee_id": "VARCHAR",
        "email": "VARCHAR",
        "email_normalised": "VARCHAR",
        "username": "VARCHAR",
        "first_name": "VARCHAR",
        "last_name": "VARCHAR",
        "display_name": "VARCHAR",
        "department": "VARCHAR",
        "role": "VARCHAR",
        "manager_email": "VARCHAR",
        "location": "VARCHAR",
        "cost_center": "VARCHAR",
        "fte": "DOUBLE",
        "hire_date": "DATE",
        "termination_date": "DATE",
        "status": "VARCHAR",
        "status_raw": "VARCHAR",
    }
}

# Column -> accepted normalised headers, first match wins.
COLUMNS: dict[str, tuple[str, ...]] = {
    "employee_id": ("employee_id", "employee_number", "emp_id", "worker_id", "person_id", "id"),
    "email": ("email", "mail", "work_email", "email_address", "e_mail", "primary_email"),
    "username": ("username", "login", "sam_account_name", "samaccountname", "user_name", "uid"),
    "first_name": ("first_name", "given_name", "firstname"),
    "last_name": ("last_name", "surname", "family_name", "lastname", "sn"),
    "display_name": ("display_name", "full_name", "name"),
    "department": ("department", "dept", "department_name"),
    "role": ("role", "title", "job_title", "position"),
    "manager_email": ("manager_email", "manager_mail", "manager", "supervisor_email"),
    "location": ("location", "office", "work_location", "site"),
    "cost_center": ("cost_center", "cost_centre", "costcenter", "cost_center_code"),
    "fte": ("fte", "full_time_equivalent", "fte_ratio"),
    "hire_date": ("hire_date", "start_date", "date_of_hire", "hired_on", "original_hire_date"),
    "termination_date": ("termination_date", "end_date", "term_date", "leave_date"),
    "status": ("status", "employment_status", "employee_status", "worker_status"),
}

# Exported status (case-folded) -> normalised status. `inactive` is read as terminated, and a
# temporary absence needs one of the leave values, because `leave` keeps the person's licences.
STATUS_VALUES: dict[str, str] = {
    "active": "active",
    "a": "active",
    "employed": "active",
    "current": "active",
    "leave": "leave",
    "on leave": "leave",
    "loa": "leave",
    "leave of absence": "leave",
    "parental leave": "leave",
    "sabbatical": "leave",
    "terminated": "terminated",
    "term": "terminated",
    "t": "terminated",
    "inactive": "terminated",
    "separated": "terminated",
    "former": "terminated",
    "left": "terminated",
    "resigned": "terminated",
    "retired": "terminated",
}
EXPECTED_HEADER = (
    "employee_id,email,username,first_name,last_name,department,role,manager_email,location,"
    "cost_center,fte,hire_date,termination_date,status"
)


def detect(path: Path, head: str) -> bool:
    """Recognise an HR directory by an employee id or e-mail column plus an HR-only column."""
    first_line = head.lstrip("\ufeff").split("\n", 1)[0].lower()
    hr_only = ("employee_id", "employee id", "hire_date", "department", "termination_date", "fte")
    return any(name in first_line for name in hr_only) and "mail" in first_line


def parse_file(path: Path, as_of: date | None = None, **_options: Any) -> ParsedFile:
    """Parse an HR directory into `hr_directory`.

    With `as_of`, a termination date on or before it marks the person terminated, whatever
    status was exported. Without it the exported status is kept; dbt applies termination dates
    against the data's as-of date, so the answer never depends on when the file was copied.
    Raises SourceFileError when no e-mail column is present.
    """
    header, records = read_csv_records(path)
    index = _column_index(header)
    if "email" not in index:
        raise SourceFileError(
            f"{path}: missing an e-mail column (email, mail or work_email) in header {header[:8]}. "
            f"Expected an HR directory like {EXPECTED_HEADER}."
        )
    reference = as_of

    parsed = ParsedFile.for_records(records)
    parsed.notes["null_coerced"] = 0
    parsed.notes["unknown_status"] = 0
    for line_number, fields, raw in records:
        if len(fields) != len(header):
            parsed.reject(
                line_number,
                f"row has {len(fields)} fields but the header has {len(header)}. "
                "Check for an unquoted comma",
                raw,
            )
            continue
        row = {column: _cell(fields, index, column) or None for column in COLUMNS}
        row["_line_number"] = line_number
        # The e-mail stays as exported (case, spaces) so that dbt builds the one identity key.
        row["email"] = fields[index["email"]] or None

        try:
            row["hire_date"] = _date(row["hire_date"], "hire_date")
            row["termination_date"] = _date(row["termination_date"], "termination_date")
        except ValueError as error:
            parsed.reject(line_number, str(error), raw)
            continue
        if not (row["email"] or row["employee_id"] or row["username"]):
            parsed.reject(line_number, "employee_id, email and username are all empty", raw)
            continue

        row["fte"] = _fte(path, line_number, row["fte"], parsed)
        row["status_raw"] = row["status"]
        row["status"] = _status(path, line_number, row, reference, parsed)
        row["email_normalised"] = (row["email"] or "").strip().lower() or None
        if not row["display_name"] and (row["first_name"] or row["last_name"]):
            row["display_name"] = " ".join(filter(None, (row["first_name"], row["last_name"])))
        parsed.add_row(TABLE, row)

    logger.info(
        "Parsed HR directory %s: %d landed, %d rejected, %d values set to NULL",
        path.name,
        parsed.rows_landed,
        len(parsed.rejects),
        parsed.notes["null_coerced"],
    )
    return parsed


def _date(text: str | None, column: str) -> date | None:
    try:
        return to_date(text)
    except ValueError:
        raise ValueError(
            f"column {column}: invalid date {text!r}. Use YYYY-MM-DD or leave it empty"
        ) from None


def _fte(path: Path, line_number: int, text: str | None, parsed: ParsedFile) -> float | None:
    """Convert fte, turning `n/a` and other non-numbers into NULL with a logged, counted note."""
    try:
        value = to_float(text)
    except ValueError:
        value = None
    if value is None and text:
        parsed.notes["null_coerced"] += 1
        logger.warning(
            "%s line %d: fte %r is not a number, loaded as NULL", path, line_number, text
        )
    return value


def _status(
    path: Path, line_number: int, row: dict[str, Any], reference: date | None, parsed: ParsedFile
) -> str | None:
    exported = (row["status_raw"] or "").strip().lower()
    status = STATUS_VALUES.get(exported)
    if exported and status is None:
        parsed.notes["unknown_status"] += 1
        logger.warning(
            "%s line %d: unknown status %r loaded as NULL. Known values are %s",
            path,
            line_number,
            row["status_raw"],
            sorted(set(STATUS_VALUES.values())),
        )

    termination = row["termination_date"]
    if termination is not None and reference is not None and termination <= reference:
        return "terminated"
    if status is None and not exported:
        # An empty status with no termination in effect: present in the directory, so active.
        return "active"
    return status


def _column_index(header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for column, names in COLUMNS.items():
        for name in names:
            if name in header:
                index[column] = header.index(name)
                break
    return index


def _cell(fields: list[str], index: dict[str, int], column: str) -> str:
    position = index.get(column)
    return fields[position].strip() if position is not None else ""
