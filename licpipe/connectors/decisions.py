"""Decisions that IT records on recommendations: accepted, rejected or deferred.

A rejected recommendation is suppressed on the next run, so a decision value that is not one of
the three is rejected with its line number instead of being guessed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from licpipe.connectors.base import (
    ParsedFile,
    SourceFileError,
    parse_datetime_cell,
)
from licpipe.connectors.csv_records import read_csv_records

logger = logging.getLogger(__name__)

TABLE = "decisions"

SCHEMAS: dict[str, dict[str, str]] = {
    TABLE: {
        "recommendation_id": "VARCHAR",
        "user_email": "VARCHAR",
        "application": "VARCHAR",
        "sku": "VARCHAR",
        "action": "VARCHAR",
        "decision": "VARCHAR",
        "decided_at": "TIMESTAMP",
        "decided_by": "VARCHAR",
        "note": "VARCHAR",
    }
}

DECISIONS = ("accepted", "rejected", "deferred")
# The actions that analytics.recommendations raises.
ACTIONS = (
    "reclaim",
    "downgrade",
    "upgrade",
    "provision",
    "right_size",
    "convert_to_concurrent",
    "pool",
    "true_up",
)
REQUIRED = ("recommendation_id", "decision")
EXPECTED_HEADER = (
    "recommendation_id,user_email,application,sku,action,decision,decided_at,decided_by,note"
)


def detect(path: Path, head: str) -> bool:
    """Recognise a decisions file by its recommendation_id and decision headers."""
    first_line = head.lstrip("\ufeff").split("\n", 1)[0].lower()
    return "recommendation_id" in first_line and "decision" in first_line


def parse_file(path: Path, **_options: Any) -> ParsedFile:
    """Parse a decisions CSV into `decisions`. Raises SourceFileError for missing columns."""
    header, records = read_csv_records(path)
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise SourceFileError(
            f"{path}: missing required column(s) {missing}. Expected the header {EXPECTED_HEADER}."
        )

    parsed = ParsedFile.for_records(records)
    for line_number, fields, raw in records:
        if len(fields) != len(header):
            parsed.reject(
                line_number,
                f"row has {len(fields)} fields but the header has {len(header)}. "
                "Quote notes that contain commas",
                raw,
            )
            continue
        values = {name: value.strip() for name, value in zip(header, fields, strict=True)}
        try:
            row = _decision_row(values)
        except ValueError as error:
            parsed.reject(line_number, str(error), raw)
            continue
        row["_line_number"] = line_number
        parsed.add_row(TABLE, row)

    logger.info(
        "Parsed decisions %s: %d landed, %d rejected",
        path.name,
        parsed.rows_landed,
        len(parsed.rejects),
    )
    return parsed


def _decision_row(values: dict[str, str]) -> dict[str, Any]:
    if not values["recommendation_id"]:
        raise ValueError("column recommendation_id is empty. Copy it from the recommendation")

    decision = values["decision"].lower()
    if decision not in DECISIONS:
        raise ValueError(
            f"column decision: invalid value {values['decision']!r}. Use one of "
            f"{', '.join(DECISIONS)}"
        )

    action = values.get("action", "").lower()
    if action and action not in ACTIONS:
        raise ValueError(
            f"column action: unknown value {values['action']!r}. Use one of {', '.join(ACTIONS)}"
        )

    try:
        decided_at = parse_datetime_cell(values.get("decided_at")).value
    except ValueError:
        raise ValueError(
            f"column decided_at: invalid timestamp {values['decided_at']!r}. "
            "Use YYYY-MM-DD HH:MM:SS (UTC) or YYYY-MM-DD"
        ) from None

    return {
        "recommendation_id": values["recommendation_id"],
        "user_email": values.get("user_email") or None,
        "application": values.get("application") or None,
        "sku": values.get("sku") or None,
        "action": action or None,
        "decision": decision,
        "decided_at": decided_at,
        "decided_by": values.get("decided_by") or None,
        "note": values.get("note") or None,
    }
