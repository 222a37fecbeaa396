"""Load the suite files in `expectations/` and validate a warehouse table against one.

A suite file is JSON: {"name", "table", "expectations": [{"type", "kwargs", "severity",
"meta"}]}. A `type` starting with `expect_` is a Great Expectations 1.x expectation. Any other
type is a custom check in `licpipe.checks.sql_checks`, run as SQL on the whole table.
Kwarg values of the form {"$PARAMETER": "as_of"} are filled from the `parameters` argument. An
expectation whose parameter is missing is not run and counts as failed, with a message saying
which value is missing and how to supply it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from licpipe.checks import sql_checks
from licpipe.checks.gx_validation import run_expectations
from licpipe.checks.results import MAX_EXAMPLES, ExpectationResult, SuiteOutcome
from licpipe.settings import EXPECTATIONS_DIR

logger = logging.getLogger(__name__)

SEVERITIES = ("error", "warn")
# The next step shown to the user when a suite parameter has no value, by parameter name.
PARAMETER_HINTS = {
    "as_of": (
        "No source has a usable date, so the as-of date is unknown. Load dated exports or "
        "run licpipe with --as-of YYYY-MM-DD"
    ),
}
# Seed of the reservoir sample taken from tables larger than `sample_rows`.
SAMPLE_SEED = 42


@dataclass(frozen=True)
class SuiteExpectation:
    """One entry of a suite file, with parameters already filled in."""

    index: int
    type: str
    kwargs: dict
    severity: str
    meta: dict
    # Parameters the suite names that `parameters` gave no value for.
    missing_parameters: tuple[str, ...] = ()

    @property
    def is_gx(self) -> bool:
        return self.type.startswith("expect_")

    @property
    def label(self) -> str:
        column = self.kwargs.get("column")
        return f"{self.type}({column})" if column else self.type


@dataclass(frozen=True)
class Suite:
    """A parsed suite file."""

    name: str
    table: str
    expectations: list[SuiteExpectation]
    path: Path


def load_suite(
    suite_name: str, *, parameters: dict | None = None, suites_dir: Path | None = None
) -> Suite:
    """Read `<suites_dir>/<suite_name>.json` and fill in its parameters.

    Raises:
        FileNotFoundError: no such suite file.
        ValueError: the file is not valid JSON, lacks a key or has an unknown severity.
    """
    path = Path(suites_dir or EXPECTATIONS_DIR) / f"{suite_name}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"suite file {path} not found; add it or check the suite name {suite_name!r}."
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}.") from exc

    for key in ("table", "expectations"):
        if key not in document:
            raise ValueError(f"{path}: missing key {key!r}; a suite needs table and expectations.")

    expectations = []
    for index, entry in enumerate(document["expectations"]):
        severity = str(entry.get("severity", "error")).lower()
        if severity not in SEVERITIES:
            raise ValueError(
                f"{path}: expectation {index} has severity {entry.get('severity')!r}; "
                "use error or warn."
            )
        if "type" not in entry:
            raise ValueError(f"{path}: expectation {index} has no type.")
        kwargs, missing = _fill_parameters(entry.get("kwargs", {}), parameters or {})
        expectations.append(
            SuiteExpectation(index, entry["type"], kwargs, severity, entry.get("meta", {}), missing)
        )
    return Suite(document.get("name", suite_name), document["table"], expectations, path)


def _fill_parameters(kwargs: dict, parameters: dict) -> tuple[dict, tuple[str, ...]]:
    """Return the kwargs with parameters filled in, and the names that had no value.

    A parameter without a value keeps its {"$PARAMETER": name} placeholder, so callers that
    read the kwargs see that the value is unknown.
    """
    filled = {}
    missing = []
    for key, value in kwargs.items():
        if isinstance(value, dict) and set(value) == {"$PARAMETER"}:
            name = value["$PARAMETER"]
            if parameters.get(name) is None:
                missing.append(name)
                filled[key] = value
                continue
            value = parameters[name]
        if isinstance(value, date):
            value = value.isoformat()
        filled[key] = value
    return filled, tuple(missing)


def validate_table(
    con: duckdb.DuckDBPyConnection,
    suite_name: str,
    *,
    parameters: dict | None = None,
    sample_rows: int = 200_000,
    suites_dir: Path | None = None,
) -> SuiteOutcome:
    """Validate the suite's table with Great Expectations and the suite's SQL checks.

    Up to `sample_rows` rows, GX validates the whole table as a pandas frame. A larger table is
    validated on a repeatable reservoir sample of `sample_rows` rows, and the not-null,
    between, in-set and regex expectations are then recounted in SQL on the whole table, so
    their counts and success cover every row. Other GX expectations then describe the sample.

    Before GX runs, each column is checked for existence and a comparable type, because a
    range check on a VARCHAR column would otherwise fail inside GX with an opaque error. Such
    a column becomes one failed expectation that counts the values that do not convert.

    DATE and TIMESTAMP columns reach GX as Python dates. GX 1.24 turns date-string bounds
    into `datetime.date`, which pandas cannot compare with timestamps, so range checks on
    timestamps compare days.
    """
    suite = load_suite(suite_name, parameters=parameters, suites_dir=suites_dir)
    logger.info("Validating %s against suite %s", suite.table, suite.name)

    if not sql_checks.table_exists(con, suite.table):
        result = ExpectationResult(
            "table_exists",
            False,
            0,
            [],
            "error",
            f"table {suite.table} not found; materialise it before validating",
        )
        return _outcome(suite, [result], row_count=0, sampled_rows=None)

    types = sql_checks.column_types(con, suite.table)
    row_count = con.execute(
        f"select count(*) from {sql_checks.quote_table(suite.table)}"
    ).fetchone()[0]
    sampled = row_count > sample_rows

    results: dict[int, ExpectationResult] = {}
    runnable = []
    for expectation in suite.expectations:
        if expectation.missing_parameters:
            results[expectation.index] = _missing_parameter_result(expectation)
            continue
        if not expectation.is_gx:
            continue
        precheck = _precheck_column(con, suite.table, expectation, types)
        if precheck is not None:
            results[expectation.index] = precheck
        else:
            runnable.append(expectation)

    frame = _read_frame(con, suite.table, runnable, types, sample_rows if sampled else None)
    gx_results = run_expectations(
        suite.name,
        frame,
        [(e.index, e.type, e.kwargs, e.severity, e.label) for e in runnable],
    )
    for expectation in runnable:
        result = gx_results.get(expectation.index)
        if result is None:
            detail = f"{expectation.label} returned no result from Great Expectations"
            result = ExpectationResult(
                expectation.label, False, 0, [], expectation.severity, detail
            )
        if sampled:
            result = _recount_full_table(con, suite.table, expectation, types, result)
        results[expectation.index] = result

    for expectation in suite.expectations:
        if not expectation.is_gx and not expectation.missing_parameters:
            results[expectation.index] = sql_checks.run_custom_check(
                con, suite.table, expectation.type, expectation.kwargs, expectation.severity
            )

    ordered = [results[e.index] for e in suite.expectations]
    return _outcome(
        suite, ordered, row_count=row_count, sampled_rows=sample_rows if sampled else None
    )


def _missing_parameter_result(expectation: SuiteExpectation) -> ExpectationResult:
    name = expectation.missing_parameters[0]
    hint = PARAMETER_HINTS.get(name, f"Pass parameters={{{name!r}: ...}} to validate_table")
    detail = f"{expectation.label} was not run because parameter {name!r} is missing. {hint}"
    return ExpectationResult(expectation.label, False, 0, [], expectation.severity, detail)


def _precheck_column(
    con: duckdb.DuckDBPyConnection,
    table: str,
    expectation: SuiteExpectation,
    types: dict[str, str],
) -> ExpectationResult | None:
    """Return a failed result for a missing or wrongly typed column, else None."""
    column = expectation.kwargs.get("column")
    if column is None:
        return None
    if column not in types:
        detail = f"column {column} not found in {table} (columns: {', '.join(sorted(types))})"
        return ExpectationResult(expectation.label, False, 0, [], expectation.severity, detail)

    needed = sql_checks.required_family(expectation.type, expectation.kwargs)
    if needed is None or sql_checks.type_family(types[column]) == needed:
        return None
    return sql_checks.type_mismatch_result(
        con, table, expectation.label, column, types[column], needed, expectation.severity
    )


def _read_frame(
    con: duckdb.DuckDBPyConnection,
    table: str,
    expectations: list[SuiteExpectation],
    types: dict[str, str],
    sample_rows: int | None,
) -> pd.DataFrame:
    """Read the columns the expectations name, whole or as a repeatable sample."""
    columns = sorted({e.kwargs["column"] for e in expectations if "column" in e.kwargs})
    select = ", ".join(sql_checks.quote_identifier(c) for c in columns) or "1 as _row"
    sql = f"select {select} from {sql_checks.quote_table(table)}"
    if sample_rows is not None:
        sql += f" using sample reservoir({int(sample_rows)} rows) repeatable ({SAMPLE_SEED})"
    frame = con.execute(sql).df()

    for column in columns:
        if sql_checks.type_family(types[column]) == "temporal":
            frame[column] = pd.to_datetime(frame[column]).dt.date.astype(object)
            frame.loc[frame[column].isna(), column] = None
    return frame


def _recount_full_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    expectation: SuiteExpectation,
    types: dict[str, str],
    sample_result: ExpectationResult,
) -> ExpectationResult:
    column = expectation.kwargs.get("column")
    family = sql_checks.type_family(types.get(column, "")) if column else "other"
    counted = sql_checks.full_table_count(con, table, expectation.type, expectation.kwargs, family)
    if counted is None:
        return sample_result

    unexpected, denominator, examples = counted
    mostly = float(expectation.kwargs.get("mostly", 1.0))
    success = denominator == 0 or (denominator - unexpected) / denominator >= mostly
    detail = (
        "" if success else f"{expectation.label}: {unexpected} of {denominator} rows unexpected"
    )
    return ExpectationResult(
        expectation.label, success, unexpected, examples, expectation.severity, detail
    )


def _outcome(
    suite: Suite,
    results: list[ExpectationResult],
    *,
    row_count: int,
    sampled_rows: int | None,
) -> SuiteOutcome:
    failed = [r for r in results if not r.success]
    errors = [r for r in failed if r.severity == "error"]
    severity = None
    if errors:
        severity = "ERROR"
    elif failed:
        severity = "WARN"
    message = _message(suite.table, results, failed, row_count)
    if failed:
        logger.warning("Suite %s: %s", suite.name, message)
    else:
        logger.info("Suite %s passed: %d expectations", suite.name, len(results))
    return SuiteOutcome(
        suite_name=suite.name,
        table=suite.table,
        passed=not errors,
        severity=severity,
        results=results,
        message=message,
        row_count=row_count,
        sampled_rows=sampled_rows,
    )


def _message(
    table: str, results: list[ExpectationResult], failed: list[ExpectationResult], row_count: int
) -> str:
    """Build one sentence naming each failure with its count, with five examples at most."""
    if not failed:
        return f"{table}: all {len(results)} expectations passed on {row_count} rows."

    examples_remaining = MAX_EXAMPLES
    clauses = []
    for result in failed:
        clause = result.detail or f"{result.expectation}: {result.unexpected_count} unexpected"
        listed = result.examples[:examples_remaining]
        if listed:
            clause += " (examples: " + ", ".join(repr(v) for v in listed) + ")"
            examples_remaining -= len(listed)
        clauses.append(f"[{result.severity.upper()}] {clause}")
    return (
        f"{table} failed {len(failed)} of {len(results)} expectations on {row_count} rows: "
        + "; ".join(clauses)
        + "."
    )
