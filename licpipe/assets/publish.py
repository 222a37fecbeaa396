"""Publish the analytics snapshot that analysts query, replacing it atomically."""

import os

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from licpipe.assets.recommendations import license_kpis, savings_summary
from licpipe.checks.alerts import ensure_alerts_table
from licpipe.report import write_report
from licpipe.resources import WarehouseResource

# Warehouse schema -> snapshot schema. The analytics tables go to `main` so analysts write
# `select * from recommendations`: in a file named analytics.duckdb the catalog is `analytics`,
# and DuckDB rejects `analytics.<table>` as ambiguous between that catalog and a schema.
PUBLISHED_SCHEMAS = {"main_marts": "marts", "analytics": "main"}


@asset(
    deps=[savings_summary, license_kpis],
    group_name="publish",
    pool="duckdb_writer",
    kinds={"duckdb"},
)
def analytics_snapshot(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    """A read-only copy of the marts and analytics tables in `analytics.duckdb`.

    The copy is written to a temporary file and renamed over the old one, so a reader sees
    either the previous complete run or this one, never half of it.
    """
    target = warehouse.analytics_path
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    with warehouse.connect() as con:
        ensure_alerts_table(con)
        con.execute(f"attach '{temporary}' as snapshot")
        try:
            for schema, published in PUBLISHED_SCHEMAS.items():
                con.execute(f'create schema if not exists snapshot."{published}"')
                tables = con.execute(
                    "select table_name from information_schema.tables "
                    "where table_catalog = current_database() and table_schema = ? "
                    "order by table_name",
                    [schema],
                ).fetchall()
                for (table,) in tables:
                    con.execute(
                        f'create table snapshot."{published}"."{table}" as '
                        f'select * from "{schema}"."{table}"'
                    )
                    counts[f"{published}.{table}"] = con.execute(
                        f'select count(*) from snapshot."{published}"."{table}"'
                    ).fetchall()[0][0]
        finally:
            con.execute("detach snapshot")
    os.replace(temporary, target)
    context.log.info("Published %d tables to %s", len(counts), target)

    with warehouse.connect(read_only=True) as con:
        as_of = con.execute("select max(as_of_date) from main_marts.as_of_date").fetchall()[0][0]
        written = write_report(con, target.parent, as_of)
    context.log.info("Wrote %s and %s", written["report"], written["export_csv"])
    return MaterializeResult(
        metadata={
            "path": str(target),
            "report": str(written["report"]),
            "itsm_export": str(written["export_csv"]),
            "tables": MetadataValue.json(counts),
            "dagster/row_count": sum(counts.values()),
        }
    )
