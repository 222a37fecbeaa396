"""Create the raw schema the licpipe loader writes, so dbt can be built on small fixtures.

The column lists follow docs/tables.md. For the lmstat tables, which that page does not list
column by column, they are the columns the lmstat connector declares.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_EXECUTABLE = REPO_ROOT / ".venv" / "bin" / "dbt"
LINEAGE_COLUMNS = [
    ("_source_file", "VARCHAR"),
    ("_file_sha256", "VARCHAR"),
    ("_line_number", "INTEGER"),
    ("_loaded_at", "TIMESTAMP"),
]

_M365_SERVICES = ["exchange", "onedrive", "sharepoint", "skype_for_business", "yammer", "teams"]

# Table name (schema raw) -> (column, DuckDB type). Lineage columns are added to all but
# loaded_files and rejects.
RAW_TABLES: dict[str, list[tuple[str, str]]] = {
    "loaded_files": [
        ("source", "VARCHAR"),
        ("file_name", "VARCHAR"),
        ("file_sha256", "VARCHAR"),
        ("records_total", "INTEGER"),
        ("rows_landed", "INTEGER"),
        ("rows_rejected", "INTEGER"),
        ("loaded_at", "TIMESTAMP"),
    ],
    "rejects": [
        ("source", "VARCHAR"),
        ("file_name", "VARCHAR"),
        ("file_sha256", "VARCHAR"),
        ("line_number", "INTEGER"),
        ("reason", "VARCHAR"),
        ("raw_text", "VARCHAR"),
        ("loaded_at", "TIMESTAMP"),
    ],
    "m365_active_user_detail": [
        ("report_refresh_date", "DATE"),
        ("report_period", "INTEGER"),
        ("report_date", "DATE"),
        ("user_principal_name", "VARCHAR"),
        ("display_name", "VARCHAR"),
        ("is_deleted", "BOOLEAN"),
        ("deleted_date", "DATE"),
        *[(f"has_{s}_license", "BOOLEAN") for s in _M365_SERVICES],
        *[(f"{s}_last_activity_date", "DATE") for s in _M365_SERVICES],
        *[(f"{s}_license_assign_date", "DATE") for s in _M365_SERVICES],
        ("assigned_products", "VARCHAR"),
        ("is_concealed", "BOOLEAN"),
    ],
    "m365_active_user_counts": [
        ("report_refresh_date", "DATE"),
        ("report_date", "DATE"),
        ("office_365", "INTEGER"),
        *[(s, "INTEGER") for s in _M365_SERVICES],
        ("report_period", "INTEGER"),
    ],
    "flexlm_events": [
        ("event_at", "TIMESTAMP"),
        ("event_type", "VARCHAR"),
        ("daemon", "VARCHAR"),
        ("daemon_raw", "VARCHAR"),
        ("server", "VARCHAR"),
        ("feature", "VARCHAR"),
        ("user_name", "VARCHAR"),
        ("host", "VARCHAR"),
        ("seats", "INTEGER"),
        ("token_product", "VARCHAR"),
        ("flag", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("error_code", "VARCHAR"),
        ("date_source", "VARCHAR"),
    ],
    "flexlm_sessions": [
        ("server", "VARCHAR"),
        ("daemon", "VARCHAR"),
        ("feature", "VARCHAR"),
        ("user_name", "VARCHAR"),
        ("host", "VARCHAR"),
        ("token_product", "VARCHAR"),
        ("seats", "INTEGER"),
        ("checkout_at", "TIMESTAMP"),
        ("checkin_at", "TIMESTAMP"),
        ("duration_seconds", "DOUBLE"),
        ("end_reason", "VARCHAR"),
    ],
    "flexlm_server_events": [
        ("event_at", "TIMESTAMP"),
        ("server", "VARCHAR"),
        ("daemon", "VARCHAR"),
        ("event_type", "VARCHAR"),
        ("message", "VARCHAR"),
    ],
    "lmstat_features": [
        ("snapshot_at", "TIMESTAMP"),
        ("server", "VARCHAR"),
        ("vendor", "VARCHAR"),
        ("feature", "VARCHAR"),
        ("version", "VARCHAR"),
        ("issued", "INTEGER"),
        ("in_use", "INTEGER"),
        ("is_uncounted", "BOOLEAN"),
        ("expires", "DATE"),
    ],
    "lmstat_checkouts": [
        ("snapshot_at", "TIMESTAMP"),
        ("server", "VARCHAR"),
        ("vendor", "VARCHAR"),
        ("feature", "VARCHAR"),
        ("user_name", "VARCHAR"),
        ("host", "VARCHAR"),
        ("seats", "INTEGER"),
        ("start_at", "TIMESTAMP"),
        ("kind", "VARCHAR"),
        ("linger_seconds", "INTEGER"),
        ("reserved_for", "VARCHAR"),
    ],
    "lmstat_entitlements": [
        ("server", "VARCHAR"),
        ("vendor", "VARCHAR"),
        ("feature", "VARCHAR"),
        ("version", "VARCHAR"),
        ("seats", "INTEGER"),
        ("expires", "DATE"),
        ("is_permanent", "BOOLEAN"),
    ],
    "salesforce_login_history": [
        ("username", "VARCHAR"),
        ("user_id", "VARCHAR"),
        ("login_time", "TIMESTAMP"),
        ("source_ip", "VARCHAR"),
        ("login_type", "VARCHAR"),
        ("status", "VARCHAR"),
        ("application", "VARCHAR"),
        ("browser", "VARCHAR"),
        ("platform", "VARCHAR"),
        ("login_url", "VARCHAR"),
    ],
    "salesforce_users": [
        ("user_id", "VARCHAR"),
        ("username", "VARCHAR"),
        ("email", "VARCHAR"),
        ("full_name", "VARCHAR"),
        ("is_active", "BOOLEAN"),
        ("user_license", "VARCHAR"),
        ("profile", "VARCHAR"),
        ("last_login_at", "TIMESTAMP"),
        ("never_logged_in", "BOOLEAN"),
    ],
    "slack_members": [
        ("window_start", "DATE"),
        ("window_end", "DATE"),
        ("user_id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("username", "VARCHAR"),
        ("email", "VARCHAR"),
        ("account_type", "VARCHAR"),
        ("account_created_at", "DATE"),
        ("deactivated_at", "DATE"),
        ("days_active", "INTEGER"),
        ("messages_posted", "INTEGER"),
        ("last_active_on", "DATE"),
        ("billing_active", "BOOLEAN"),
    ],
    "adobe_users": [
        ("identity_type", "VARCHAR"),
        ("username", "VARCHAR"),
        ("domain", "VARCHAR"),
        ("email", "VARCHAR"),
        ("first_name", "VARCHAR"),
        ("last_name", "VARCHAR"),
        ("country_code", "VARCHAR"),
        ("product_configurations", "VARCHAR"),
        ("user_groups", "VARCHAR"),
        ("status", "VARCHAR"),
    ],
    "okta_events": [
        ("uuid", "VARCHAR"),
        ("published_at", "TIMESTAMP"),
        ("event_type", "VARCHAR"),
        ("actor_id", "VARCHAR"),
        ("actor_alternate_id", "VARCHAR"),
        ("actor_display_name", "VARCHAR"),
        ("app_instance_id", "VARCHAR"),
        ("app_display_name", "VARCHAR"),
        ("app_label", "VARCHAR"),
        ("app_user_alternate_id", "VARCHAR"),
        ("outcome_result", "VARCHAR"),
        ("outcome_reason", "VARCHAR"),
        ("client_ip", "VARCHAR"),
    ],
    "okta_users": [
        ("user_id", "VARCHAR"),
        ("login", "VARCHAR"),
        ("email", "VARCHAR"),
        ("status", "VARCHAR"),
        ("last_login_at", "TIMESTAMP"),
        ("never_logged_in", "BOOLEAN"),
        ("activated_at", "TIMESTAMP"),
        ("deactivated_at", "TIMESTAMP"),
    ],
    "hr_directory": [
        ("employee_id", "VARCHAR"),
        ("email", "VARCHAR"),
        ("username", "VARCHAR"),
        ("first_name", "VARCHAR"),
        ("last_name", "VARCHAR"),
        ("display_name", "VARCHAR"),
        ("department", "VARCHAR"),
        ("role", "VARCHAR"),
        ("manager_email", "VARCHAR"),
        ("location", "VARCHAR"),
        ("cost_center", "VARCHAR"),
        ("fte", "DOUBLE"),
        ("hire_date", "DATE"),
        ("termination_date", "DATE"),
        ("status", "VARCHAR"),
    ],
    "entitlements": [
        ("vendor", "VARCHAR"),
        ("application", "VARCHAR"),
        ("sku", "VARCHAR"),
        ("license_model", "VARCHAR"),
        ("feature", "VARCHAR"),
        ("seats", "INTEGER"),
        ("unit_price", "DECIMAL(18,4)"),
        ("price_period", "VARCHAR"),
        ("currency", "VARCHAR"),
        ("term_start", "DATE"),
        ("term_end", "DATE"),
        ("renewal_date", "DATE"),
        ("quote_unit_price", "DECIMAL(18,4)"),
        ("min_commitment_seats", "INTEGER"),
        ("reassignment_limit_days", "INTEGER"),
        ("notes", "VARCHAR"),
    ],
    "decisions": [
        ("recommendation_id", "VARCHAR"),
        ("user_email", "VARCHAR"),
        ("application", "VARCHAR"),
        ("sku", "VARCHAR"),
        ("action", "VARCHAR"),
        ("decision", "VARCHAR"),
        ("decided_at", "TIMESTAMP"),
        ("decided_by", "VARCHAR"),
        ("note", "VARCHAR"),
    ],
    "installs": [
        ("device_id", "VARCHAR"),
        ("device_name", "VARCHAR"),
        ("user_name", "VARCHAR"),
        ("email", "VARCHAR"),
        ("application_name", "VARCHAR"),
        ("publisher", "VARCHAR"),
        ("version", "VARCHAR"),
        ("installed_on", "DATE"),
        ("inventory_source", "VARCHAR"),
    ],
}


def table_columns(table: str) -> list[tuple[str, str]]:
    """Return the columns of raw `table`, lineage columns included."""
    columns = RAW_TABLES[table]
    if table in ("loaded_files", "rejects"):
        return list(columns)
    return [*columns, *LINEAGE_COLUMNS]


def create_raw_schema(warehouse: Path) -> None:
    """Create schema `raw` with every raw table, empty, in the DuckDB file `warehouse`."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists raw")
        for table in RAW_TABLES:
            columns = ", ".join(f"{name} {kind}" for name, kind in table_columns(table))
            con.execute(f"create or replace table raw.{table} ({columns})")


def insert_rows(
    warehouse: Path,
    table: str,
    rows: Iterable[Mapping[str, Any]],
    source_file: str = "fixture.csv",
    loaded_at: datetime = datetime(2024, 5, 2, 6, 0),
) -> None:
    """Append `rows` to raw `table`, with missing columns NULL and lineage filled in.

    Raises KeyError naming the column when a row has a column the table lacks.
    """
    columns = [name for name, _ in table_columns(table)]
    records = []
    for index, row in enumerate(rows, start=2):
        unknown = set(row) - set(columns)
        if unknown:
            raise KeyError(
                f"raw.{table} has no column {sorted(unknown)}: add it to RAW_TABLES or "
                "remove it from the fixture row"
            )
        lineage = {
            "_source_file": source_file,
            "_file_sha256": f"sha-{source_file}",
            "_line_number": index,
            "_loaded_at": loaded_at,
        }
        merged = {**lineage, **row} if table not in ("loaded_files", "rejects") else dict(row)
        records.append([merged.get(name) for name in columns])

    if not records:
        return

    placeholders = ", ".join("?" for _ in columns)
    with duckdb.connect(str(warehouse)) as con:
        con.executemany(f"insert into raw.{table} values ({placeholders})", records)


def run_dbt(warehouse: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real dbt CLI on the project with LICPIPE_WAREHOUSE set to `warehouse`.

    Target and log files go under the warehouse's folder, so parallel runs do not share them.
    """
    env = {
        **os.environ,
        "LICPIPE_WAREHOUSE": str(warehouse),
        "DBT_TARGET_PATH": str(warehouse.parent / "dbt_target"),
        "DBT_LOG_PATH": str(warehouse.parent / "dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
    }
    command = [
        str(DBT_EXECUTABLE),
        *args,
        "--project-dir",
        str(REPO_ROOT / "dbt_project"),
        "--profiles-dir",
        str(REPO_ROOT / "dbt_project"),
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def read_export_rows(path: Path) -> list[dict[str, str | None]]:
    """Read a CSV export as the loader would type it: snake_case headers, empty cells NULL.

    Cell values are otherwise kept verbatim, trailing spaces and case included.
    """
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [
            re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_") for name in next(reader)
        ]
        return [
            {
                name: (value if value != "" else None)
                for name, value in zip(header, fields, strict=True)
            }
            for fields in reader
            if fields
        ]
