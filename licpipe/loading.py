"""Load landing files into the append-only `raw` schema.

Every file is identified by its SHA-256: a file already in `raw.loaded_files` is skipped, so
re-running the same input adds nothing. Each file lands in one transaction with its rows, its
rejects and its `loaded_files` record, so a crash never leaves half a file behind.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from licpipe.connectors import all_schemas, source_modules
from licpipe.connectors.base import ParsedFile, Schema, SourceFileError
from licpipe.connectors.text_lines import MAX_LINE_CHARS, read_head
from licpipe.landing_folders import landing_files, source_folders
from licpipe.row_rules import reject_invalid_rows

log = logging.getLogger(__name__)

LINEAGE_COLUMNS: Schema = {
    "_source_file": "VARCHAR",
    "_file_sha256": "VARCHAR",
    "_line_number": "INTEGER",
    "_loaded_at": "TIMESTAMP",
}
LOADED_FILES_SCHEMA: Schema = {
    "source": "VARCHAR",
    "file_name": "VARCHAR",
    "file_sha256": "VARCHAR",
    "connector": "VARCHAR",
    "records_total": "BIGINT",
    "rows_landed": "BIGINT",
    "rows_rejected": "BIGINT",
    "notes": "JSON",
    "loaded_at": "TIMESTAMP",
}
LOADED_TABLES_SCHEMA: Schema = {
    "file_sha256": "VARCHAR",
    "table_name": "VARCHAR",
    "rows_landed": "BIGINT",
}
REJECTS_SCHEMA: Schema = {
    "source": "VARCHAR",
    "file_name": "VARCHAR",
    "file_sha256": "VARCHAR",
    "line_number": "INTEGER",
    "reason": "VARCHAR",
    "raw_text": "VARCHAR",
    "loaded_at": "TIMESTAMP",
}


@dataclass
class FileOutcome:
    """Outcome of loading one landing file."""

    file_name: str
    status: str  # loaded, skipped (already loaded), failed
    rows_landed: int = 0
    rows_rejected: int = 0
    message: str = ""
    rows_by_table: dict[str, int] = field(default_factory=dict)


@dataclass
class LoadSummary:
    """Counts for one source folder, used as asset metadata."""

    source: str
    files: list[FileOutcome] = field(default_factory=list)
    rows_by_table: dict[str, int] = field(default_factory=dict)

    @property
    def failures(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def rows_landed(self) -> int:
        return sum(f.rows_landed for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)


def _column_sql(schema: Schema) -> str:
    return ", ".join(f'"{name}" {kind}' for name, kind in schema.items())


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and every table any connector declares, so dbt always finds them."""
    con.execute("create schema if not exists raw")
    con.execute(f"create table if not exists raw.loaded_files ({_column_sql(LOADED_FILES_SCHEMA)})")
    con.execute(
        f"create table if not exists raw.loaded_tables ({_column_sql(LOADED_TABLES_SCHEMA)})"
    )
    con.execute(f"create table if not exists raw.rejects ({_column_sql(REJECTS_SCHEMA)})")
    for table, schema in all_schemas().items():
        columns = {**schema, **LINEAGE_COLUMNS}
        con.execute(f'create table if not exists raw."{table}" ({_column_sql(columns)})')
        existing = {
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'raw' and table_name = ?",
                [table],
            ).fetchall()
        }
        for name, kind in columns.items():
            if name not in existing:
                con.execute(f'alter table raw."{table}" add column "{name}" {kind}')


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _arrow_type(kind: str) -> pa.DataType:
    kind = kind.upper()
    if kind.startswith("DECIMAL"):
        precision, scale = (int(x) for x in kind[kind.index("(") + 1 : -1].split(","))
        return pa.decimal128(precision, scale)
    return {
        "VARCHAR": pa.string(),
        "JSON": pa.string(),
        "INTEGER": pa.int64(),
        "BIGINT": pa.int64(),
        "SMALLINT": pa.int64(),
        "DOUBLE": pa.float64(),
        "FLOAT": pa.float64(),
        "REAL": pa.float64(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        "TIMESTAMP": pa.timestamp("us"),
    }[kind]


def _coerce(value: Any, kind: str) -> Any:
    if value is None:
        return None
    kind = kind.upper()
    if kind.startswith("DECIMAL"):
        return value if isinstance(value, Decimal) else Decimal(str(value))
    if kind == "DATE" and isinstance(value, datetime):
        return value.date()
    if kind == "TIMESTAMP" and isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, datetime.min.time())
    if kind in {"VARCHAR", "JSON"} and not isinstance(value, str):
        return str(value)
    return value


def _arrow_table(rows: list[dict[str, Any]], columns: Schema) -> pa.Table:
    arrays = []
    for name, kind in columns.items():
        values = [_coerce(row.get(name), kind) for row in rows]
        arrays.append(pa.array(values, type=_arrow_type(kind)))
    return pa.table(arrays, names=list(columns))


def _pick_module(source: str, path: Path):
    modules = source_modules(source)
    try:
        head = read_head(path)
    except OSError as error:
        raise SourceFileError(f"{path}: cannot be read ({error}).") from error
    if not head.strip():
        raise SourceFileError(
            f"{path}: the file is empty. Export it again, or remove it from the {source} folder."
        )
    for module in modules:
        if module.detect(path, head):
            return module
    names = ", ".join(m.__name__.rsplit(".", 1)[-1] for m in modules)
    raise SourceFileError(
        f"{path}: not a recognised {source} export (tried the {names} connector). Check that it "
        f"is an unmodified export from the source system, or move it out of the {source} folder."
    )


def _insert_file(
    con: duckdb.DuckDBPyConnection,
    *,
    source: str,
    relative_name: str,
    sha: str,
    connector: str,
    parsed: ParsedFile,
    schemas: dict[str, Schema],
) -> dict[str, int]:
    import json

    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    counts: dict[str, int] = {}
    con.execute("begin")
    try:
        for table, rows in parsed.tables.items():
            if table not in schemas:
                raise SourceFileError(
                    f"{relative_name}: the {connector} connector produced rows for undeclared "
                    f"table raw.{table}; declare it in the connector's SCHEMAS."
                )
            if not rows:
                continue
            columns = {**schemas[table], **LINEAGE_COLUMNS}
            for row in rows:
                row["_source_file"] = relative_name
                row["_file_sha256"] = sha
                row["_loaded_at"] = loaded_at
            arrow = _arrow_table(rows, columns)
            con.register("_licpipe_rows", arrow)
            con.execute(f'insert into raw."{table}" by name select * from _licpipe_rows')
            con.unregister("_licpipe_rows")
            counts[table] = len(rows)
            con.execute("insert into raw.loaded_tables values (?, ?, ?)", [sha, table, len(rows)])
        if parsed.rejects:
            reject_rows = [
                {
                    "source": source,
                    "file_name": relative_name,
                    "file_sha256": sha,
                    "line_number": r.line_number,
                    **_capped_reject(r.reason, r.raw_text),
                    "loaded_at": loaded_at,
                }
                for r in parsed.rejects
            ]
            con.register("_licpipe_rejects", _arrow_table(reject_rows, REJECTS_SCHEMA))
            con.execute("insert into raw.rejects by name select * from _licpipe_rejects")
            con.unregister("_licpipe_rejects")
        con.execute(
            "insert into raw.loaded_files values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                source,
                relative_name,
                sha,
                connector,
                parsed.records_total,
                parsed.rows_landed,
                len(parsed.rejects),
                json.dumps(parsed.notes, default=str, sort_keys=True),
                loaded_at,
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return counts


def load_source(
    con: duckdb.DuckDBPyConnection,
    source: str,
    landing_dir: Path,
    *,
    options: dict[str, Any] | None = None,
    files: Iterable[Path] | None = None,
) -> LoadSummary:
    """Load every new file of one source folder; failed files are reported, not raised.

    Any error while reading, parsing or inserting one file fails that file alone, with a
    message naming it, and the other files still load.

    Args:
        con: an open read-write warehouse connection.
        source: the landing sub-folder name (`m365`, `flexlm`, ...). Folders whose names
            differ only in letter case (`HR/`) are read too.
        landing_dir: the landing root; file names are stored relative to it.
        options: keyword options passed to connectors that accept them (`log_date`).
        files: restrict the load to these files (the sensor passes only new ones).
    """
    ensure_raw_tables(con)
    schemas = all_schemas()
    summary = LoadSummary(source=source)
    known = {row[0] for row in con.execute("select file_sha256 from raw.loaded_files").fetchall()}
    if files is not None:
        paths = list(files)
    else:
        paths = [
            path for folder in source_folders(landing_dir, source) for path in landing_files(folder)
        ]
    for path in paths:
        relative_name = (
            str(path.relative_to(landing_dir)) if path.is_relative_to(landing_dir) else str(path)
        )
        try:
            outcome = _load_file(con, source, path, relative_name, known, schemas, options or {})
        except SourceFileError as error:
            log.error("Failed to load %s: %s", relative_name, error)
            outcome = FileOutcome(relative_name, "failed", message=str(error))
        except Exception as error:  # noqa: BLE001 - one bad file must not stop the others
            log.exception("Failed to load %s", relative_name)
            outcome = FileOutcome(relative_name, "failed", message=_unexpected_message(path, error))
        summary.files.append(outcome)
        for table, count in outcome.rows_by_table.items():
            summary.rows_by_table[table] = summary.rows_by_table.get(table, 0) + count
    return summary


def _load_file(
    con: duckdb.DuckDBPyConnection,
    source: str,
    path: Path,
    relative_name: str,
    known: set[str],
    schemas: dict[str, Schema],
    options: dict[str, Any],
) -> FileOutcome:
    """Parse and insert one file unless its SHA-256 is in `known`, which it is then added to."""
    sha = file_sha256(path)
    if sha in known:
        return FileOutcome(relative_name, "skipped", message="already loaded")
    module = _pick_module(source, path)
    parsed = module.parse_file(path, **_accepted_options(module, options))
    invalid = reject_invalid_rows(parsed, schemas)
    if invalid:
        log.warning("%s: %d lines rejected by column rules before insert", relative_name, invalid)
    counts = _insert_file(
        con,
        source=source,
        relative_name=relative_name,
        sha=sha,
        connector=module.__name__.rsplit(".", 1)[-1],
        parsed=parsed,
        schemas=schemas,
    )
    known.add(sha)
    log.info(
        "Loaded %s: %d rows landed, %d rejected",
        relative_name,
        parsed.rows_landed,
        len(parsed.rejects),
    )
    return FileOutcome(
        relative_name, "loaded", parsed.rows_landed, len(parsed.rejects), rows_by_table=counts
    )


def _unexpected_message(path: Path, error: Exception) -> str:
    """Describe an error no connector anticipated, naming the file and what to do."""
    detail = str(error)
    if len(detail) > 500:
        detail = detail[:500] + " ..."
    return (
        f"{path}: failed to load ({type(error).__name__}: {detail}). Nothing from this file was "
        "stored. Check that it is an unmodified export, fix or remove it, then run again; if the "
        "export is valid, report this message as a licpipe bug"
    )


def _capped_reject(reason: str, raw_text: str) -> dict[str, str]:
    """Return a reject's reason and raw text, with the text cut to MAX_LINE_CHARS."""
    if raw_text is None or len(raw_text) <= MAX_LINE_CHARS:
        return {"reason": reason, "raw_text": raw_text}
    note = f" (raw_text keeps the first {MAX_LINE_CHARS:,} of {len(raw_text):,} characters)"
    return {"reason": reason + note, "raw_text": raw_text[:MAX_LINE_CHARS]}


def _accepted_options(module, options: dict[str, Any]) -> dict[str, Any]:
    import inspect

    parameters = inspect.signature(module.parse_file).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return {k: v for k, v in options.items() if v is not None}
    return {k: v for k, v in options.items() if k in parameters and v is not None}
