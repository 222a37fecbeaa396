"""Installed-software inventories: Intune, ConfigMgr (SCCM) and osquery `programs`.

All three land in `installs`, tagged with `inventory_source`. Rows are kept as exported: SCCM's
32-bit and 64-bit views list some programs twice, and dbt removes those duplicates.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from licpipe.connectors.base import (
    ParsedFile,
    SourceFileError,
    normalise_header,
    read_text,
    sniff_delimiter,
    to_date,
)
from licpipe.connectors.csv_records import read_csv_records
from licpipe.connectors.text_lines import read_first_line, read_head

logger = logging.getLogger(__name__)

TABLE = "installs"

SCHEMAS: dict[str, dict[str, str]] = {
    TABLE: {
        "device_id": "VARCHAR",
        "device_name": "VARCHAR",
        "user_id": "VARCHAR",
        "user_name": "VARCHAR",
        "email": "VARCHAR",
        "application_key": "VARCHAR",
        "application_name": "VARCHAR",
        "publisher": "VARCHAR",
        "version": "VARCHAR",
        "short_version": "VARCHAR",
        "product_code": "VARCHAR",
        "install_location": "VARCHAR",
        "install_source": "VARCHAR",
        "platform": "VARCHAR",
        "os_description": "VARCHAR",
        "os_version": "VARCHAR",
        "installed_on": "DATE",
        "inventory_source": "VARCHAR",
    }
}

# Per inventory: column -> accepted normalised headers. Intune's raw export uses PascalCase
# (`DeviceName` -> `devicename`) and its display-name variant uses words (`Device name`).
INTUNE_COLUMNS: dict[str, tuple[str, ...]] = {
    "application_key": ("applicationkey", "application_key"),
    "application_name": ("applicationname", "application_name"),
    "publisher": ("applicationpublisher", "application_publisher"),
    "short_version": ("applicationshortversion", "application_short_version"),
    "version": ("applicationversion", "application_version"),
    "device_id": ("deviceid", "device_id"),
    "device_name": ("devicename", "device_name"),
    "os_description": ("osdescription", "os_description"),
    "os_version": ("osversion", "os_version"),
    "platform": ("platform",),
    "user_id": ("userid", "user_id"),
    "email": ("emailaddress", "email_address"),
    "user_name": ("username", "user_name"),
}
SCCM_COLUMNS: dict[str, tuple[str, ...]] = {
    "device_id": ("resourceid",),
    "device_name": ("name0", "netbios_name0", "computername"),
    "user_name": ("user_name0", "username0"),
    "application_name": ("displayname0",),
    "version": ("version0",),
    "publisher": ("publisher0",),
    "installed_on": ("installdate0",),
    "product_code": ("prodid0",),
}
OSQUERY_COLUMNS: dict[str, tuple[str, ...]] = {
    "device_name": ("hostidentifier", "host_identifier", "hostname"),
    "application_name": ("name",),
    "version": ("version",),
    "install_location": ("install_location",),
    "install_source": ("install_source",),
    "publisher": ("publisher",),
    "installed_on": ("install_date",),
    "product_code": ("identifying_number",),
}
_OSQUERY_MARKERS = {"identifying_number", "uninstall_string", "install_source"}
# SQL exports often prefix columns with the view alias (`arp.DisplayName0` -> `arp_displayname0`).
_SCCM_PREFIX = re.compile(r"^(?:v_gs_add_remove_programs(?:_64)?|arp)_")

EXPECTED = (
    "Intune AppInvRawData (ApplicationKey,ApplicationName,...,DeviceId,DeviceName,...), "
    "SCCM v_GS_ADD_REMOVE_PROGRAMS (ResourceID,DisplayName0,Version0,Publisher0,InstallDate0) "
    "or osquery programs (name,version,...,install_date,identifying_number)"
)


def detect(path: Path, head: str) -> bool:
    """Recognise an Intune, SCCM or osquery inventory by its header or JSON keys."""
    stripped = head.lstrip("\ufeff").lstrip()
    if stripped.startswith(("[", "{")):
        return "identifying_number" in stripped or '"programs"' in stripped
    return _inventory_kind(_header_names(stripped)) is not None


def parse_file(path: Path, device_name: str | None = None, **_options: Any) -> ParsedFile:
    """Parse one inventory export into `installs`.

    `device_name` names the device for osquery results that carry no host identifier.
    Raises SourceFileError when the header matches none of the three inventories.
    """
    head = read_head(path)
    if head.lstrip().startswith(("[", "{")):
        # NOTE: osquery JSON is parsed whole, so a JSON file is held in memory in full.
        parsed = _parse_osquery_json(path, read_text(path), device_name)
    else:
        parsed = _parse_csv(path, read_first_line(path), device_name)

    logger.info(
        "Parsed install inventory %s: %d landed, %d rejected, %d install dates set to NULL",
        path.name,
        parsed.rows_landed,
        len(parsed.rejects),
        parsed.notes.get("null_coerced", 0),
    )
    return parsed


def _parse_csv(path: Path, first_line: str, device_name: str | None) -> ParsedFile:
    # `osqueryi --csv` separates fields with a pipe.
    delimiter = "|" if first_line.count("|") > first_line.count(",") else None
    header, records = read_csv_records(path, delimiter=delimiter)
    header = [_SCCM_PREFIX.sub("", name) for name in header]
    kind = _inventory_kind(header)
    if kind is None:
        raise SourceFileError(
            f"{path}: unknown inventory header {header[:8]}. Expected {EXPECTED}. Export the "
            "inventory again or move the file out of the installs folder."
        )
    columns = {"intune": INTUNE_COLUMNS, "sccm": SCCM_COLUMNS, "osquery": OSQUERY_COLUMNS}[kind]
    index = _column_index(header, columns)

    parsed = ParsedFile.for_records(records)
    parsed.notes["null_coerced"] = 0
    for line_number, fields, raw in records:
        if len(fields) != len(header):
            parsed.reject(
                line_number,
                f"row has {len(fields)} fields but the header has {len(header)}. "
                "Check for an unquoted delimiter",
                raw,
            )
            continue
        values = {column: fields[position] for column, position in index.items()}
        _add_install(parsed, path, kind, line_number, values, raw, device_name)
    return parsed


def _parse_osquery_json(path: Path, text: str, device_name: str | None) -> ParsedFile:
    """Read `osqueryi --json` arrays, or osqueryd result logs in event or snapshot format."""
    try:
        documents = [json.loads(text)]
    except json.JSONDecodeError:
        try:
            documents = [json.loads(line) for line in text.split("\n") if line.strip()]
        except json.JSONDecodeError as error:
            raise SourceFileError(
                f"{path}: invalid JSON at line {error.lineno}: {error.msg}. Expected osquery "
                "results (a JSON array of programs rows or result-log lines)."
            ) from None

    results: list[tuple[dict[str, Any], str | None, str | None]] = []
    for document in documents:
        results.extend(_osquery_rows(document))

    parsed = ParsedFile(records_total=len(results))
    parsed.notes["null_coerced"] = 0
    for number, (row, host, action) in enumerate(results, start=1):
        raw = json.dumps(row, sort_keys=True)
        if action == "removed":
            parsed.reject(number, "osquery `removed` event: the program was uninstalled", raw)
            continue
        values = {key.lower(): "" if value is None else str(value) for key, value in row.items()}
        if host and not values.get("hostidentifier"):
            values["hostidentifier"] = host
        mapped = {
            column: values[name]
            for column, names in OSQUERY_COLUMNS.items()
            for name in names
            if name in values
        }
        _add_install(parsed, path, "osquery", number, mapped, raw, device_name)
    return parsed


def _osquery_rows(document: Any) -> list[tuple[dict[str, Any], str | None, str | None]]:
    if isinstance(document, list):
        return [row for item in document for row in _osquery_rows(item)]
    if not isinstance(document, dict):
        return []
    host = document.get("hostIdentifier")
    if isinstance(document.get("snapshot"), list):
        return [(row, host, "snapshot") for row in document["snapshot"]]
    if isinstance(document.get("columns"), dict):
        return [(document["columns"], host, document.get("action"))]
    return [(document, None, None)]


def _add_install(
    parsed: ParsedFile,
    path: Path,
    kind: str,
    line_number: int,
    values: dict[str, str],
    raw: str,
    device_name: str | None,
) -> None:
    row: dict[str, Any] = {column: None for column in SCHEMAS[TABLE]}
    for column, value in values.items():
        cleaned = value.strip()
        if cleaned and cleaned.upper() != "NULL":
            row[column] = cleaned

    if not row["application_name"]:
        name_column = {"intune": "ApplicationName", "sccm": "DisplayName0", "osquery": "name"}[kind]
        parsed.reject(
            line_number,
            f"column {name_column} is empty or NULL. An install needs a program name",
            raw,
        )
        return

    row["device_name"] = row["device_name"] or device_name
    row["installed_on"] = _install_date(parsed, path, line_number, row["installed_on"])
    row["inventory_source"] = kind
    row["_line_number"] = line_number
    parsed.add_row(TABLE, row)


def _install_date(
    parsed: ParsedFile, path: Path, line_number: int, text: str | None
) -> date | None:
    """Convert a registry install date (usually YYYYMMDD). A value that is not a date is NULL."""
    if not text or text.strip("0") == "":
        return None
    try:
        if len(text) == 8 and text.isdigit():
            return datetime.strptime(text, "%Y%m%d").date()
        return to_date(text)
    except ValueError:
        parsed.notes["null_coerced"] += 1
        logger.warning(
            "%s line %d: install date %r is not a date, loaded as NULL", path, line_number, text
        )
        return None


def _inventory_kind(header: list[str]) -> str | None:
    names = set(header)
    if {"applicationname", "application_name"} & names and (
        {"deviceid", "device_id", "devicename", "device_name"} & names
    ):
        return "intune"
    if "displayname0" in names:
        return "sccm"
    if "name" in names and _OSQUERY_MARKERS & names:
        return "osquery"
    return None


def _header_names(text: str) -> list[str]:
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if not first_line:
        return []
    delimiter = "|" if first_line.count("|") > first_line.count(",") else None
    fields = next(csv.reader([first_line], delimiter=delimiter or sniff_delimiter(first_line)))
    return [_SCCM_PREFIX.sub("", normalise_header(name)) for name in fields]


def _column_index(header: list[str], columns: dict[str, tuple[str, ...]]) -> dict[str, int]:
    index: dict[str, int] = {}
    for column, names in columns.items():
        for name in names:
            if name in header:
                index[column] = header.index(name)
                break
    return index
