"""Checks computed in DuckDB SQL: custom suite checks, column type checks, full-table counts.

The custom checks compare a table with what the loader recorded or measure a share of rows.
The full-table counts recompute the unexpected count of the common column expectations when
Great Expectations only saw a sample of a large table.
"""

from __future__ import annotations

import logging
from datetime import date

import duckdb

from licpipe.checks.results import ExpectationResult, plain_examples

logger = logging.getLogger(__name__)

NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "REAL",
    "DOUBLE",
    "DECIMAL",
)
TEMPORAL_TYPES = ("DATE", "TIMESTAMP")
TEXT_TYPES = ("VARCHAR",)


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_table(table: str) -> str:
    """Quote `schema.table` as `"schema"."table"`."""
    return ".".join(quote_identifier(part) for part in table.split("."))


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, _, name = table.rpartition(".")
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema or "main", name],
    ).fetchone()
    return bool(row and row[0])


def column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type name, upper case (`DECIMAL(18,4)`, `VARCHAR`)."""
    schema, _, name = table.rpartition(".")
    rows = con.execute(
        "select column_name, upper(data_type) from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema or "main", name],
    ).fetchall()
    return dict(rows)


def type_family(duckdb_type: str) -> str:
    """`numeric`, `temporal`, `text` or `other` for a DuckDB type name."""
    if duckdb_type.startswith(NUMERIC_TYPES):
        return "numeric"
    if duckdb_type.startswith(TEMPORAL_TYPES):
        return "temporal"
    if duckdb_type.startswith(TEXT_TYPES):
        return "text"
    return "other"


def required_family(expectation_type: str, kwargs: dict) -> str | None:
    """Type family a column must have for this expectation, or None when any type works."""
    if expectation_type == "expect_column_values_to_match_regex":
        return "text"
    if expectation_type != "expect_column_values_to_be_between":
        return None
    bounds = [kwargs.get("min_value"), kwargs.get("max_value")]
    if any(isinstance(b, str | date) for b in bounds):
        return "temporal"
    return "numeric"


def type_mismatch_result(
    con: duckdb.DuckDBPyConnection,
    table: str,
    label: str,
    column: str,
    actual_type: str,
    expected_family: str,
    severity: str,
) -> ExpectationResult:
    """Report a column whose type cannot be compared, counting the values that do not cast."""
    target = {"numeric": "DOUBLE", "temporal": "TIMESTAMP", "text": "VARCHAR"}[expected_family]
    quoted = quote_identifier(column)
    condition = f"{quoted} is not null and try_cast({quoted} as {target}) is null"
    unexpected, examples = _count_and_examples(con, table, condition, column)
    detail = (
        f"column {column} is {actual_type} but {label} needs a {expected_family} column; "
        f"{unexpected} value(s) do not convert to {target}"
    )
    return ExpectationResult(label, False, unexpected, examples, severity, detail)


def _count_and_examples(
    con: duckdb.DuckDBPyConnection,
    table: str,
    condition: str,
    example_column: str | None,
    parameters: list | None = None,
) -> tuple[int, list]:
    quoted_table = quote_table(table)
    count = con.execute(
        f"select count(*) from {quoted_table} where {condition}", parameters or []
    ).fetchone()[0]
    examples: list = []
    if count and example_column:
        rows = con.execute(
            f"select distinct {quote_identifier(example_column)} from {quoted_table} "
            f"where {condition} order by 1 nulls first limit 5",
            parameters or [],
        ).fetchall()
        examples = plain_examples([row[0] for row in rows])
    return int(count), examples


def full_table_count(
    con: duckdb.DuckDBPyConnection,
    table: str,
    expectation_type: str,
    kwargs: dict,
    family: str,
) -> tuple[int, int, list] | None:
    """(unexpected, denominator, examples) over the whole table, or None if not translatable.

    The denominator follows Great Expectations: all rows for not-null, non-null rows otherwise.
    """
    column = kwargs.get("column")
    if column is None:
        return None
    quoted = quote_identifier(column)
    parameters: list = []
    if expectation_type == "expect_column_values_to_not_be_null":
        condition = f"{quoted} is null"
        denominator_sql = "count(*)"
    elif expectation_type == "expect_column_values_to_be_between":
        value = f"cast({quoted} as date)" if family == "temporal" else quoted
        clauses = []
        for key, operator, strict_operator in (
            ("min_value", "<", "<="),
            ("max_value", ">", ">="),
        ):
            bound = kwargs.get(key)
            if bound is None:
                continue
            strict = kwargs.get("strict_min" if key == "min_value" else "strict_max")
            clauses.append(f"{value} {strict_operator if strict else operator} ?")
            parameters.append(
                date.fromisoformat(str(bound)[:10]) if family == "temporal" else bound
            )
        condition = f"{quoted} is not null and ({' or '.join(clauses)})"
        denominator_sql = f"count({quoted})"
    elif expectation_type == "expect_column_values_to_be_in_set":
        condition = f"{quoted} is not null and not list_contains(?, {quoted})"
        parameters.append(list(kwargs["value_set"]))
        denominator_sql = f"count({quoted})"
    elif expectation_type == "expect_column_values_to_match_regex":
        condition = f"{quoted} is not null and not regexp_matches({quoted}, ?)"
        parameters.append(kwargs["regex"])
        denominator_sql = f"count({quoted})"
    else:
        return None

    denominator = con.execute(f"select {denominator_sql} from {quote_table(table)}").fetchone()[0]
    unexpected, examples = _count_and_examples(con, table, condition, column, parameters)
    return unexpected, int(denominator), examples


def run_custom_check(
    con: duckdb.DuckDBPyConnection,
    table: str,
    check_type: str,
    kwargs: dict,
    severity: str,
) -> ExpectationResult:
    """Run one custom check named by its suite `type`.

    Raises:
        ValueError: the suite names a check type this module does not define.
    """
    if check_type == "row_count_matches_loader":
        return row_count_matches_loader(con, table, severity=severity, **kwargs)
    if check_type == "share_of_rows_below":
        return share_of_rows_below(con, table, severity=severity, **kwargs)
    if check_type == "rejected_share_below":
        return rejected_share_below(con, severity=severity, **kwargs)
    if check_type == "not_null_where_file_has_column":
        return not_null_where_file_has_column(con, table, severity=severity, **kwargs)
    raise ValueError(
        f"unknown check type {check_type!r} for table {table}; use an expect_* type from "
        "Great Expectations or one of row_count_matches_loader, share_of_rows_below, "
        "rejected_share_below, not_null_where_file_has_column."
    )


def row_count_matches_loader(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    source: str | None = None,
    severity: str = "error",
) -> ExpectationResult:
    """Compare the rows per `_file_sha256` in `table` with the count the loader recorded.

    The loader records rows per file and table in `raw.loaded_tables`. Where that table is
    absent, `raw.loaded_files.rows_landed` of the files of `source` is used, which is right for
    sources that land each file in one table. A file counts as unexpected when the two differ.
    """
    label = "row_count_matches_loader"
    name = table.rpartition(".")[2]
    if table_exists(con, "raw.loaded_tables"):
        landed_sql = (
            "select file_sha256, sum(rows_landed) as landed from raw.loaded_tables "
            "where table_name = ? group by file_sha256"
        )
        parameters: list = [name]
    elif table_exists(con, "raw.loaded_files") and source:
        landed_sql = (
            "select file_sha256, sum(rows_landed) as landed from raw.loaded_files "
            "where source = ? group by file_sha256"
        )
        parameters = [source]
    else:
        detail = (
            f"{table} cannot be compared with the loader's counts because raw.loaded_tables "
            "is missing; load the files through licpipe.loading"
        )
        return ExpectationResult(label, False, 0, [], severity, detail)

    has_names = table_exists(con, "raw.loaded_files")
    name_sql = (
        "(select any_value(file_name) from raw.loaded_files f "
        "where f.file_sha256 = compared.file_sha256)"
        if has_names
        else "compared.file_sha256"
    )
    rows = con.execute(
        f"""
        with landed as ({landed_sql}),
        found as (
            select _file_sha256 as file_sha256, count(*) as found
            from {quote_table(table)}
            group by _file_sha256
        ),
        compared as (
            select
                coalesce(landed.file_sha256, found.file_sha256) as file_sha256,
                coalesce(landed.landed, 0) as landed,
                coalesce(found.found, 0) as found
            from landed
            full outer join found on landed.file_sha256 = found.file_sha256
        )
        select {name_sql} as file_name, landed, found
        from compared
        where landed <> found
        order by file_name
        """,
        parameters,
    ).fetchall()

    if not rows:
        return ExpectationResult(label, True, 0, [], severity, "")
    examples = [
        f"{file_name}: loader recorded {landed}, table has {found}"
        for file_name, landed, found in rows[:5]
    ]
    detail = f"{len(rows)} file(s) have a different row count in {table} than the loader recorded"
    return ExpectationResult(label, False, len(rows), examples, severity, detail)


def share_of_rows_below(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    condition: str,
    max_share: float,
    message: str,
    example_column: str | None = None,
    severity: str = "error",
    latest_by: str | None = None,
) -> ExpectationResult:
    """Require the share of rows matching the SQL `condition` to stay below `max_share`.

    `message` is formatted with `matched`, `total` and `percent` when the check fails.
    `condition` comes from a committed suite file and is trusted SQL. With `latest_by` (a
    column such as a report refresh date) only rows with its latest value count, so the
    check judges the newest export rather than every export ever loaded into the raw table.
    """
    label = "share_of_rows_below"
    scope = "true"
    if latest_by:
        column = quote_identifier(latest_by)
        scope = f"{column} = (select max({column}) from {quote_table(table)})"
    total, matched = con.execute(
        f"select count(*), count(*) filter (where {condition}) "
        f"from {quote_table(table)} where {scope}"
    ).fetchall()[0]
    if total == 0 or matched / total < max_share:
        return ExpectationResult(label, True, int(matched), [], severity, "")

    _, examples = _count_and_examples(con, table, f"({condition}) and {scope}", example_column)
    detail = message.format(matched=matched, total=total, percent=round(100 * matched / total))
    return ExpectationResult(label, False, int(matched), examples, severity, detail)


def rejected_share_below(
    con: duckdb.DuckDBPyConnection,
    *,
    source: str,
    max_share: float,
    severity: str = "warn",
) -> ExpectationResult:
    """Require the share of rejected lines over all loaded files of `source` below `max_share`.

    Shares come from `raw.loaded_files` (rows_rejected / records_total). Example values are the
    files whose own share is at or above the threshold. A `max_share` of 0 fails on any reject,
    for sources such as entitlements where one lost line changes the money.
    """
    label = "rejected_share_below"
    if not table_exists(con, "raw.loaded_files"):
        detail = "raw.loaded_files is missing, so the share of rejected lines is unknown"
        return ExpectationResult(label, False, 0, [], severity, detail)

    records, rejected = con.execute(
        "select coalesce(sum(records_total), 0), coalesce(sum(rows_rejected), 0) "
        "from raw.loaded_files where source = ?",
        [source],
    ).fetchone()
    # A max_share of 0 flags any rejected line; no rejects always passes.
    if records == 0 or rejected == 0 or rejected / records < max_share:
        return ExpectationResult(label, True, int(rejected), [], severity, "")

    files = con.execute(
        "select file_name, rows_rejected, records_total from raw.loaded_files "
        "where source = ? and records_total > 0 and rows_rejected >= ? * records_total "
        "order by rows_rejected desc, file_name limit 5",
        [source, max_share],
    ).fetchall()
    examples = [f"{name}: {bad} of {total} lines" for name, bad, total in files]
    detail = (
        f"{rejected} of {records} {source} lines ({100 * rejected / records:.1f}%) were "
        f"rejected, at or above the {100 * max_share:.0f}% limit; see raw.rejects for reasons"
    )
    logger.debug("Rejected share for %s: %d of %d", source, rejected, records)
    return ExpectationResult(label, False, int(rejected), examples, severity, detail)


def not_null_where_file_has_column(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    column: str,
    severity: str = "warn",
) -> ExpectationResult:
    """Require an optional column to be filled on every row of each file that fills it at all.

    The raw table cannot tell a file without the column from one whose column is empty, so a
    file whose rows all leave it empty counts as not having it and passes. Rows are grouped by
    `_file_sha256`. Examples name each file with its count of empty rows.
    """
    label = f"not_null_where_file_has_column({column})"
    quoted = quote_identifier(column)
    rows = con.execute(
        f"""
        select any_value(_source_file), count(*) filter (where {quoted} is null)
        from {quote_table(table)}
        group by _file_sha256
        having count({quoted}) > 0 and count(*) filter (where {quoted} is null) > 0
        order by 1
        """
    ).fetchall()
    if not rows:
        return ExpectationResult(label, True, 0, [], severity, "")

    missing = sum(count for _, count in rows)
    examples = [f"{file_name}: {count} row(s)" for file_name, count in rows[:5]]
    detail = (
        f"{label}: {missing} row(s) leave {column} empty in {len(rows)} file(s) that fill it "
        "on other rows"
    )
    return ExpectationResult(label, False, missing, examples, severity, detail)
