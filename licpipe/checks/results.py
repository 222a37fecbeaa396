"""Result types shared by the Great Expectations run and the SQL checks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

MAX_EXAMPLES = 5


class ExpectationResult(NamedTuple):
    """Outcome of one expectation; a tuple so callers may unpack the first four fields.

    `unexpected_count` counts rows (or files, for the row-count check) that broke the
    expectation. `detail` is a clause for the suite message, such as
    "expect_column_values_to_not_be_null(email): 1 of 3 rows unexpected".
    """

    expectation: str
    success: bool
    unexpected_count: int
    examples: list
    severity: str = "error"
    detail: str = ""


@dataclass
class SuiteOutcome:
    """Outcome of one suite on one table.

    `passed` is False when any error-severity expectation failed. `severity` is ERROR, WARN
    (only warn-severity expectations failed) or None (everything passed).
    """

    suite_name: str
    table: str
    passed: bool
    severity: str | None
    results: list[ExpectationResult] = field(default_factory=list)
    message: str = ""
    row_count: int = 0
    sampled_rows: int | None = None


def plain_value(value: Any) -> Any:
    """Convert a value to something `json.dumps` accepts: dates as ISO text, NaN as None."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item"):
        return plain_value(value.item())
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def plain_examples(values: list) -> list:
    """At most MAX_EXAMPLES values, made JSON-safe."""
    return [plain_value(v) for v in list(values)[:MAX_EXAMPLES]]
