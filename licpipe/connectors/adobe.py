"""Adobe Admin Console user export.

The export is comma- or semicolon-separated depending on the exporting machine's locale, with
CRLF records. E-mails are kept exactly as exported because the Admin Console keeps the case an
address was created with, and dbt builds the identity key. `email_normalised` (trimmed, lower case)
is a convenience copy for ad-hoc queries.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from licpipe.connectors.base import (
    ParsedFile,
    SourceFileError,
    normalise_header,
    sniff_delimiter,
)
from licpipe.connectors.csv_records import read_csv_records

logger = logging.getLogger(__name__)

TABLE = "adobe_users"

SCHEMAS: dict[str, dict[str, str]] = {
    TABLE: {
        "identity_type": "VARCHAR",
        "username": "VARCHAR",
        "domain": "VARCHAR",
        "email": "VARCHAR",
        "email_normalised": "VARCHAR",
        "first_name": "VARCHAR",
        "last_name": "VARCHAR",
        "country_code": "VARCHAR",
        "user_id": "VARCHAR",
        "product_configurations": "VARCHAR",
        "admin_roles": "VARCHAR",
        "product_configurations_administered": "VARCHAR",
        "user_groups": "VARCHAR",
        "user_groups_administered": "VARCHAR",
        "products_administered": "VARCHAR",
        "developer_access": "VARCHAR",
        "auto_assigned_products": "VARCHAR",
        "status": "VARCHAR",
    }
}

# Column -> accepted normalised export headers, first match wins.
COLUMNS: dict[str, tuple[str, ...]] = {
    "identity_type": ("identity_type", "type"),
    "username": ("username", "user_name"),
    "domain": ("domain",),
    "email": ("email", "email_address"),
    "first_name": ("first_name", "given_name"),
    "last_name": ("last_name", "family_name"),
    "country_code": ("country_code", "country"),
    "user_id": ("id", "user_id"),
    "product_configurations": ("product_configurations", "product_profiles", "products"),
    "admin_roles": ("admin_roles",),
    "product_configurations_administered": ("product_configurations_administered",),
    "user_groups": ("user_groups",),
    "user_groups_administered": ("user_groups_administered",),
    "products_administered": ("products_administered",),
    "developer_access": ("developer_access",),
    "auto_assigned_products": ("auto_assigned_products",),
    "status": ("status", "user_status"),
}
REQUIRED = ("identity_type", "email")
EXPECTED_HEADER = (
    "Identity Type,Username,Domain,Email,First Name,Last Name,Country Code,"
    "Product Configurations,Admin Roles,...,User Groups,..."
)


def detect(path: Path, head: str) -> bool:
    """Recognise the export by its `Identity Type` and `Email` headers."""
    first_line = head.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    if not first_line:
        return False
    fields = next(csv.reader([first_line], delimiter=sniff_delimiter(first_line)))
    names = {normalise_header(name) for name in fields}
    return "identity_type" in names and bool({"email", "email_address"} & names)


def parse_file(path: Path, **_options: Any) -> ParsedFile:
    """Parse one user export into `adobe_users`, one row per user line.

    Raises SourceFileError when the Identity Type or Email column is missing.
    """
    header, records = read_csv_records(path)
    index = _column_index(header)
    missing = [column for column in REQUIRED if column not in index]
    if missing:
        raise SourceFileError(
            f"{path}: missing required column(s) {missing} in header {header[:8]}. Expected an "
            f"Admin Console user export ({EXPECTED_HEADER}). Export it again from Users > "
            "Export users list to CSV."
        )

    parsed = ParsedFile.for_records(records)
    for line_number, fields, raw in records:
        if len(fields) != len(header):
            parsed.reject(
                line_number,
                f"row has {len(fields)} fields but the header has {len(header)}. "
                "Quote cells that contain the delimiter",
                raw,
            )
            continue

        row: dict[str, Any] = {"_line_number": line_number}
        for column in SCHEMAS[TABLE]:
            position = index.get(column)
            # Values stay as exported: trailing spaces and case matter for identity matching.
            row[column] = fields[position] if position is not None and fields[position] else None

        if not (row["email"] or "").strip() and not (row["username"] or "").strip():
            parsed.reject(line_number, "Email and Username are both empty. Re-export the file", raw)
            continue

        row["email_normalised"] = (row["email"] or "").strip().lower() or None
        parsed.add_row(TABLE, row)

    logger.info(
        "Parsed Adobe user export %s: %d landed, %d rejected",
        path.name,
        parsed.rows_landed,
        len(parsed.rejects),
    )
    return parsed


def _column_index(header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for column, names in COLUMNS.items():
        for name in names:
            if name in header:
                index[column] = header.index(name)
                break
    return index
