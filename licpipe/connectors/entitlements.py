"""Purchased entitlements, as CSV or as a YAML list of purchase lines.

Each purchase line is kept as its own row, so a SKU bought twice (a true-up, a second contract)
has two rows with their own seats, prices and terms.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from licpipe.connectors.base import (
    ParsedFile,
    SourceFileError,
    plain_number_text,
    read_text,
    to_date,
    to_int,
)
from licpipe.connectors.csv_records import read_csv_records

logger = logging.getLogger(__name__)

TABLE = "entitlements"

SCHEMAS: dict[str, dict[str, str]] = {
    TABLE: {
        "vendor": "VARCHAR",
        "application": "VARCHAR",
        "sku": "VARCHAR",
        "license_model": "VARCHAR",
        "feature": "VARCHAR",
        "seats": "INTEGER",
        "unit_price": "DECIMAL(18,4)",
        "price_period": "VARCHAR",
        "currency": "VARCHAR",
        "term_start": "DATE",
        "term_end": "DATE",
        "renewal_date": "DATE",
        "quote_unit_price": "DECIMAL(18,4)",
        "min_commitment_seats": "INTEGER",
        "reassignment_limit_days": "INTEGER",
        "notes": "VARCHAR",
    }
}

REQUIRED = ("application", "sku", "license_model", "seats", "unit_price", "currency")
EXPECTED_HEADER = (
    "vendor,application,sku,license_model,feature,seats,unit_price,price_period,currency,"
    "term_start,term_end,renewal_date,quote_unit_price,min_commitment_seats,"
    "reassignment_limit_days,notes"
)

LICENSE_MODELS: dict[str, str] = {
    "named": "named",
    "named user": "named",
    "user": "named",
    "per user": "named",
    "subscription": "named",
    "concurrent": "concurrent",
    "floating": "concurrent",
    "concurrent user": "concurrent",
    "device": "device",
    "per device": "device",
    "node-locked": "device",
    "nodelocked": "device",
}
PRICE_PERIODS: dict[str, str] = {
    "month": "month",
    "monthly": "month",
    "per month": "month",
    "mo": "month",
    "year": "year",
    "yearly": "year",
    "annual": "year",
    "annually": "year",
    "per year": "year",
    "yr": "year",
}
# Enterprise software is usually quoted per seat per year, so a line without a period is
# read as yearly and counted in notes["defaulted_price_period"].
DEFAULT_PRICE_PERIOD = "year"
# (line number, column -> cell text or a reason to reject the line, raw text)
PurchaseLine = tuple[int, dict[str, str] | str, str]
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Prices are stored as DECIMAL(18,4), which stores values below 10**14.
MAX_PRICE = Decimal(10) ** 14


def detect(path: Path, head: str) -> bool:
    """Recognise a CSV or YAML file that names SKUs and licence models."""
    text = head.lower()
    return "sku" in text and "license_model" in text


def parse_file(path: Path, **_options: Any) -> ParsedFile:
    """Parse entitlements from `.yaml`/`.yml` (a list of mappings) or CSV.

    Raises SourceFileError for invalid YAML or when a required column is missing.
    """
    delimiter = None
    if path.suffix.lower() in {".yaml", ".yml"}:
        lines = _yaml_lines(path)
    else:
        lines, delimiter = _csv_lines(path)

    parsed = ParsedFile(records_total=len(lines))
    parsed.notes["defaulted_price_period"] = 0
    for line_number, values, raw in lines:
        if isinstance(values, str):
            parsed.reject(line_number, values, raw)
            continue
        try:
            row = _entitlement_row(values, parsed, delimiter)
        except ValueError as error:
            parsed.reject(line_number, str(error), raw)
            continue
        row["_line_number"] = line_number
        parsed.add_row(TABLE, row)

    logger.info(
        "Parsed entitlements %s: %d purchase lines landed, %d rejected",
        path.name,
        parsed.rows_landed,
        len(parsed.rejects),
    )
    return parsed


def _csv_lines(path: Path) -> tuple[list[PurchaseLine], str]:
    """Read CSV purchase lines, with the lines rejected before splitting, and the delimiter."""
    header, records = read_csv_records(path)
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise SourceFileError(
            f"{path}: missing required column(s) {missing}. Expected the header {EXPECTED_HEADER}. "
            "Optional columns may be left out."
        )
    lines: list[PurchaseLine] = [
        (r.line_number or 0, r.reason, r.raw_text) for r in records.rejects
    ]
    for line_number, fields, raw in records:
        if len(fields) != len(header):
            reason = (
                f"row has {len(fields)} fields but the header has {len(header)}. "
                "Check for an unquoted comma"
            )
            lines.append((line_number, reason, raw))
            continue
        lines.append((line_number, dict(zip(header, fields, strict=True)), raw))
    lines.sort(key=lambda line: line[0])
    return lines, records.delimiter


def _yaml_lines(path: Path) -> list[PurchaseLine]:
    """Read YAML purchase lines with the 1-based line where each list item starts."""
    text = read_text(path)
    try:
        document = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise SourceFileError(
            f"{path}: invalid YAML ({error}). Fix the syntax and reload."
        ) from None

    if isinstance(document, dict) and isinstance(document.get("entitlements"), list):
        items = document["entitlements"]
        nodes = next(value for key, value in root.value if key.value == "entitlements").value
    elif isinstance(document, list):
        items, nodes = document, root.value
    else:
        raise SourceFileError(
            f"{path}: expected a YAML list of purchase lines (or an `entitlements:` key holding "
            f"one), found {type(document).__name__}. Each item needs {', '.join(REQUIRED)}."
        )

    source_lines = text.split("\n")
    lines: list[PurchaseLine] = []
    for item, node in zip(items, nodes, strict=True):
        start, end = node.start_mark.line, node.end_mark.line
        raw = "\n".join(source_lines[start : max(end, start + 1)])
        if not isinstance(item, dict):
            reason = f"list item {item!r} is not a mapping of column: value"
            lines.append((start + 1, reason, raw))
            continue
        values = {str(key).strip().lower(): _yaml_text(value) for key, value in item.items()}
        lines.append((start + 1, values, raw))
    return lines


def _yaml_text(value: Any) -> str:
    """Turn a YAML scalar back into cell text so CSV and YAML share one validation."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value)


def _entitlement_row(
    values: dict[str, str], parsed: ParsedFile, delimiter: str | None
) -> dict[str, Any]:
    """Validate one purchase line and convert it to a row. Raises ValueError naming the column."""

    def text(column: str) -> str:
        return (values.get(column) or "").strip()

    def number(column: str) -> str:
        return _number_text(text(column), column, delimiter)

    for column in REQUIRED:
        if not text(column):
            raise ValueError(f"column {column} is empty. Every purchase line needs it")

    model = LICENSE_MODELS.get(text("license_model").lower())
    if model is None:
        raise ValueError(
            f"column license_model: unknown value {text('license_model')!r}. "
            "Use named, concurrent or device"
        )
    currency = text("currency").upper()
    if not _CURRENCY.match(currency):
        raise ValueError(f"column currency: {text('currency')!r} is not an ISO 4217 code like EUR")

    period_text = text("price_period").lower()
    period = PRICE_PERIODS.get(period_text) if period_text else DEFAULT_PRICE_PERIOD
    if period is None:
        raise ValueError(f"column price_period: unknown value {period_text!r}. Use month or year")
    if not period_text:
        parsed.notes["defaulted_price_period"] += 1

    row: dict[str, Any] = {
        "vendor": text("vendor") or None,
        "application": text("application"),
        "sku": text("sku"),
        "license_model": model,
        "feature": text("feature") or None,
        "seats": _count(number("seats"), "seats"),
        "unit_price": _price(number("unit_price"), "unit_price"),
        "price_period": period,
        "currency": currency,
        "term_start": _date(text("term_start"), "term_start"),
        "term_end": _date(text("term_end"), "term_end"),
        "renewal_date": _date(text("renewal_date"), "renewal_date"),
        "quote_unit_price": _price(number("quote_unit_price"), "quote_unit_price"),
        "min_commitment_seats": _count(number("min_commitment_seats"), "min_commitment_seats"),
        "reassignment_limit_days": _count(
            number("reassignment_limit_days"), "reassignment_limit_days"
        ),
        "notes": text("notes") or None,
    }
    if row["term_start"] and row["term_end"] and row["term_end"] < row["term_start"]:
        raise ValueError(
            f"term_end {row['term_end']} is before term_start {row['term_start']}. Fix the dates"
        )
    return row


def _number_text(text: str, column: str, delimiter: str | None) -> str:
    """Return a number cell without thousands separators, or raise ValueError naming the column.

    In a `;`-separated file (the layout of locales that write decimal commas) any comma is
    ambiguous: `1,234` may be 1234 or 1.234. Elsewhere a comma must group thousands.

    NOTE: `1.234` is read as 1.234 in any file, because a dot used as a thousands separator
    cannot be told from a decimal point.
    """
    if delimiter == ";" and "," in text:
        raise ValueError(
            f"column {column}: {text!r} contains a comma, which a ;-separated file may use as a "
            "decimal comma. Use a dot as the decimal separator and no thousands separator, "
            "such as 1234.50"
        )
    try:
        return plain_number_text(text)
    except ValueError as error:
        raise ValueError(f"column {column}: {error}") from None


def _count(text: str, column: str) -> int | None:
    try:
        value = to_int(text)
    except ValueError:
        raise ValueError(f"column {column}: {text!r} is not a whole number") from None
    if value is not None and value < 0:
        raise ValueError(f"column {column}: {value} is negative. Use 0 or more")
    return value


def _price(text: str, column: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"column {column}: {text!r} is not a number like 36.00") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"column {column}: {text!r} must be a price of 0 or more")
    if value >= MAX_PRICE:
        raise ValueError(f"column {column}: {text!r} is over the DECIMAL(18,4) maximum")
    return value.quantize(Decimal("0.0001"))


def _date(text: str, column: str) -> date | None:
    try:
        return to_date(text)
    except ValueError:
        raise ValueError(f"column {column}: invalid date {text!r}. Use YYYY-MM-DD") from None
