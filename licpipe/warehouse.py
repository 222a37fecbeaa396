"""Short-lived DuckDB connections to the warehouse file.

DuckDB allows one writing process per file. Every step opens its connection, does its work and
closes it before returning, so dbt (a separate process) and the next step can take the lock. A
connection that meets a lock held by another process waits and retries for a bounded time,
then fails naming the file and the holder.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from licpipe.published_types import ANALYTICS_COLUMN_TYPES

log = logging.getLogger(__name__)

# A nightly step holds the lock for seconds to minutes; wait up to 15 minutes for it.
LOCK_WAIT_SECONDS = 900.0
_LOCK_PATTERN = re.compile(r"lock", re.IGNORECASE)


class WarehouseLockedError(RuntimeError):
    """The warehouse file stayed locked by another process for longer than the wait allows."""


def _connect_with_retry(
    path: Path, read_only: bool, wait_seconds: float
) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_seconds
    delay = 0.2
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            if not _LOCK_PATTERN.search(str(error)):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLockedError(
                    f"{path} is locked by another process and stayed locked for "
                    f"{wait_seconds:.0f} s ({error}). Stop that process (a running "
                    "`licpipe run`, `dagster dev` step or a DuckDB shell) and retry."
                ) from error
            log.info("Warehouse %s is locked; retrying in %.1f s", path, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def check_writable(path: Path) -> None:
    """Fail early, naming the path, when the warehouse file or its folder cannot be written."""
    if path.is_dir():
        raise PermissionError(
            f"the warehouse path {path} is a folder; pass a file path such as "
            f"{path / 'warehouse.duckdb'}."
        )
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PermissionError(
            f"cannot create the warehouse folder {folder} ({error.strerror}); choose a "
            "writable --warehouse path."
        ) from error
    if not os.access(folder, os.W_OK):
        raise PermissionError(
            f"the warehouse folder {folder} is not writable; choose a writable --warehouse path."
        )


# Names the warehouse whose outputs (analytics.duckdb, report, exports, models) fill a folder.
OUTPUT_OWNER_FILE = ".licpipe-warehouse"


def claim_output_folder(path: Path) -> None:
    """Record that the warehouse at path publishes into its folder, or raise if another does.

    The snapshot, report, exports and saved models sit beside the warehouse under fixed names,
    so a second warehouse in the same folder would silently replace the first one's outputs.
    A claim whose warehouse file no longer exists is taken over.
    """
    owner_file = path.parent / OUTPUT_OWNER_FILE
    if owner_file.is_file():
        owner = owner_file.read_text(encoding="utf-8").strip()
        if owner and owner != path.name and (path.parent / owner).exists():
            raise FileExistsError(
                f"{path.parent} already contains the outputs of warehouse {owner}, and "
                f"{path.name} would overwrite them; give each warehouse its own folder."
            )
    owner_file.write_text(path.name + "\n", encoding="utf-8")


@contextmanager
def writer_lock(path: Path, *, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the advisory lock every licpipe writer takes before it writes the warehouse.

    DuckDB's own lock makes a second writer fail at once; dbt does not retry it. Taking this
    lock file first (`<warehouse>.lock`) makes writer steps of concurrent runs, dbt included,
    wait their turn instead. The lock is released when the block ends or the process dies.
    """
    check_writable(path)
    lock_path = path.with_name(path.name + ".lock")
    deadline = time.monotonic() + wait_seconds
    with lock_path.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseLockedError(
                        f"{path} is being written by another licpipe run (lock file "
                        f"{lock_path}) and stayed busy for {wait_seconds:.0f} s. Wait for that "
                        "run to finish, or stop it, and retry."
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def connect(
    path: Path, *, read_only: bool = False, wait_seconds: float = LOCK_WAIT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for one step and always close it.

    A read-write connection first takes the writer lock, so steps of two runs at once
    alternate instead of failing on DuckDB's file lock.
    """
    if read_only:
        con = _connect_with_retry(path, read_only, wait_seconds)
        try:
            yield con
        finally:
            con.close()
        return
    with writer_lock(path, wait_seconds=wait_seconds):
        con = _connect_with_retry(path, read_only, wait_seconds)
        try:
            yield con
        finally:
            con.close()


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(found and found[0])


def read_frame(con: duckdb.DuckDBPyConnection, schema: str, table: str):
    """Read a whole table as a pandas frame, or an empty frame when the table is missing.

    DATE columns come back as `datetime.date` values (None when NULL), not pandas Timestamps,
    so model code compares them with the as-of date directly. Rows are sorted by every column.
    """
    import pandas as pd

    if not table_exists(con, schema, table):
        return pd.DataFrame()
    date_columns = [
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? and data_type = 'DATE'",
            [schema, table],
        ).fetchall()
    ]
    # A fixed row order keeps model fits that break ties by row position the same every run.
    frame = con.execute(f'select * from "{schema}"."{table}" order by all').df()
    for column in date_columns:
        frame[column] = [value.date() if pd.notna(value) else None for value in frame[column]]
    return frame


def _null_column_types(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Choose a type for each column of the registered frame that holds only NULLs.

    DuckDB gives such columns type NULL, which BI tools and ITSM imports reject, so dates
    (`*_on`, `*_date`) become DATE, times (`*_at`) TIMESTAMP and the rest VARCHAR.
    """
    chosen = {}
    for name, type_name, *_ in con.execute("describe select * from _licpipe_frame").fetchall():
        if type_name.strip('"') != "NULL":
            continue
        if name.endswith(("_on", "_date")):
            chosen[name] = "DATE"
        elif name.endswith("_at"):
            chosen[name] = "TIMESTAMP"
        else:
            chosen[name] = "VARCHAR"
    return chosen


def replace_table(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    frame,
    column_types: dict[str, str] | None = None,
) -> int:
    """Replace a table with a frame's rows in one transaction and return the row count.

    column_types casts the named columns (for example money to `DECIMAL(18,2)`), so a column's
    type does not follow whatever values one run happened to hold. Analytics tables listed in
    `published_types` get their declared types the same way, and other columns holding only
    NULLs get a type from their name.
    """
    con.execute(f'create schema if not exists "{schema}"')
    con.register("_licpipe_frame", frame)
    declared = ANALYTICS_COLUMN_TYPES.get(table, {}) if schema == "analytics" else {}
    types = _null_column_types(con) | declared | (column_types or {})
    casts = [
        f'cast("{column}" as {type_name}) as "{column}"'
        for column, type_name in types.items()
        if column in frame.columns
    ]
    projection = f"* replace ({', '.join(casts)})" if casts else "*"
    try:
        con.execute("begin")
        con.execute(
            f'create or replace table "{schema}"."{table}" as '
            f"select {projection} from _licpipe_frame"
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_licpipe_frame")
    return len(frame)
