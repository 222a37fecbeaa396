"""Reject parsed rows that the warehouse or a blocking quality check would not accept.

The raw schema is append-only and its quality suites run over whole tables. So one row that
fails a blocking row-level expectation would fail every later run as well. One value outside
its column's DuckDB type range would fail the whole file's insert. Such rows are moved to the
file's rejects before insert, naming the table, column, value and rule.

The row-level rules come from the suite files in `expectations/`: the error-severity
not-null, between, in-set and regex expectations on a raw table. Expectations with `mostly`
or a run parameter cannot be decided one row at a time and are left to the suite.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from licpipe.checks.suites import load_suite
from licpipe.connectors.base import ParsedFile, Schema
from licpipe.connectors.text_lines import MAX_LINE_CHARS
from licpipe.settings import EXPECTATIONS_DIR

logger = logging.getLogger(__name__)

# A check returns why a value is not accepted, or None.
Check = Callable[[Any], str | None]

_INTEGER_RANGES = {
    "SMALLINT": (-(2**15), 2**15 - 1),
    "INTEGER": (-(2**31), 2**31 - 1),
    "BIGINT": (-(2**63), 2**63 - 1),
}
_FIX = "Fix the value in the export, then load the file again"


def _type_check(kind: str) -> Check | None:
    """Return the range check for a DuckDB column type, or None when any value fits."""
    kind = kind.upper()
    if kind in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[kind]

        def check_integer(value: Any) -> str | None:
            if value is None or low <= value <= high:
                return None
            return f"{value} is outside the {kind} range {low:,} to {high:,}"

        return check_integer
    if kind.startswith("DECIMAL"):
        precision, scale = (int(x) for x in kind[kind.index("(") + 1 : -1].split(","))
        limit = Decimal(10) ** (precision - scale)

        def check_decimal(value: Any) -> str | None:
            if value is None or abs(Decimal(str(value))) < limit:
                return None
            return f"{value} does not fit {kind}, which holds values below {limit:,}"

        return check_decimal
    if kind in {"VARCHAR", "JSON"}:

        def check_length(value: Any) -> str | None:
            if not isinstance(value, str) or len(value) <= MAX_LINE_CHARS:
                return None
            return f"value is {len(value):,} characters long, over the limit of {MAX_LINE_CHARS:,}"

        return check_length
    return None


def _comparable(bound: Any, value: Any) -> Any:
    """Turn a suite's date-string bound into the type of a date or timestamp value."""
    if isinstance(bound, str) and isinstance(value, date):
        parsed = date.fromisoformat(bound[:10])
        return (
            datetime.combine(parsed, datetime.min.time()) if isinstance(value, datetime) else parsed
        )
    return bound


def _between_check(kwargs: dict, suite: str) -> Check:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    strict_low, strict_high = kwargs.get("strict_min", False), kwargs.get("strict_max", False)

    def check_between(value: Any) -> str | None:
        if value is None:
            return None
        below = low is not None and (
            value <= _comparable(low, value) if strict_low else value < _comparable(low, value)
        )
        above = high is not None and (
            value >= _comparable(high, value) if strict_high else value > _comparable(high, value)
        )
        if not (below or above):
            return None
        written = value.isoformat() if isinstance(value, date) else value
        return f"{written!r} is outside {low} to {high}, the range suite {suite} accepts"

    return check_between


def _suite_check(expectation_type: str, kwargs: dict, suite: str) -> Check | None:
    """Return a row check for one error-severity expectation, or None when it is not row-level."""
    if expectation_type == "expect_column_values_to_not_be_null":
        return lambda value: None if value is not None else f"is empty, and suite {suite} needs it"
    if expectation_type == "expect_column_values_to_be_between":
        return _between_check(kwargs, suite)
    if expectation_type == "expect_column_values_to_be_in_set":
        allowed = set(kwargs["value_set"])
        return lambda value: (
            None
            if value is None or value in allowed
            else f"{value!r} is not one of {sorted(allowed)}, which suite {suite} accepts"
        )
    if expectation_type == "expect_column_values_to_match_regex":
        pattern = re.compile(kwargs["regex"])
        return lambda value: (
            None
            if value is None or pattern.search(str(value))
            else f"{value!r} does not match {pattern.pattern}, which suite {suite} requires"
        )
    return None


@functools.cache
def suite_checks() -> dict[str, list[tuple[str, Check]]]:
    """Map each raw table to (column, check) pairs from its blocking row-level expectations."""
    checks: dict[str, list[tuple[str, Check]]] = {}
    for path in sorted(EXPECTATIONS_DIR.glob("raw_*.json")):
        try:
            suite = load_suite(path.stem)
        except ValueError as error:
            logger.warning("Suite %s not applied at load time: %s", path.stem, error)
            continue
        table = suite.table.removeprefix("raw.")
        for expectation in suite.expectations:
            column = expectation.kwargs.get("column")
            mostly = expectation.kwargs.get("mostly", 1)
            if expectation.severity != "error" or column is None or mostly < 1:
                continue
            if any(isinstance(value, dict) for value in expectation.kwargs.values()):
                continue  # a {"$PARAMETER": ...} value is known only when the suite runs
            check = _suite_check(expectation.type, expectation.kwargs, suite.name)
            if check is not None:
                checks.setdefault(table, []).append((column, check))
    return checks


@functools.cache
def _table_checks(table: str, schema_items: tuple[tuple[str, str], ...]) -> list[tuple[str, Check]]:
    type_checks = [(name, _type_check(kind)) for name, kind in schema_items]
    return [(name, check) for name, check in type_checks if check] + suite_checks().get(table, [])


def row_violation(table: str, schema: Schema, row: dict[str, Any]) -> str | None:
    """Return why raw.<table> would not accept the row, or None when it would."""
    for column, check in _table_checks(table, tuple(schema.items())):
        problem = check(row.get(column))
        if problem is not None:
            return f"raw.{table} column {column}: {problem}. {_FIX}"
    return None


def reject_invalid_rows(parsed: ParsedFile, schemas: dict[str, Schema]) -> int:
    """Move each line with a row that fails `row_violation` to the rejects, in every table.

    A line can fill several tables (a FlexLM checkout is an event and a session), so all rows
    of a rejected line are removed and the line is rejected once. The raw text of such a
    reject is the row's parsed values as JSON, because connectors do not keep each row's line.
    Returns the number of lines rejected.
    """
    rejected: dict[Any, tuple[str, str]] = {}
    for table, rows in parsed.tables.items():
        if table not in schemas:
            continue
        for row in rows:
            reason = row_violation(table, schemas[table], row)
            if reason is not None:
                key = _line_key(row)
                if key not in rejected:
                    values = {name: row.get(name) for name in schemas[table]}
                    rejected[key] = (reason, json.dumps(values, default=str))
    if not rejected:
        return 0
    for table, rows in parsed.tables.items():
        parsed.tables[table] = [row for row in rows if _line_key(row) not in rejected]
    for key, (reason, raw_text) in rejected.items():
        parsed.reject(key if isinstance(key, int) else None, reason, raw_text)
    return len(rejected)


def _line_key(row: dict[str, Any]) -> int | tuple[str, int]:
    """Return the row's line number, or a key of its own when it has none."""
    line_number = row.get("_line_number")
    return line_number if isinstance(line_number, int) else ("row", id(row))
