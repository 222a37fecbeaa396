"""Raw assets: one multi-asset per landing source, one asset key per raw table it fills.

Each loads the source folder's new files (skipping any already loaded, by SHA-256), then runs
the blocking expectation suites that guard its tables. A file that cannot be read fails the
asset after the other files have landed, with a message naming the file and the fix.
"""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from licpipe.checks.asset_checks import asset_key_for_suite, check_specs_for, run_suite_check
from licpipe.connectors import SOURCE_MODULES, source_modules
from licpipe.landing_folders import folder_warnings
from licpipe.loading import load_source
from licpipe.resources import AlertsResource, LandingResource, WarehouseResource

# Asset name -> landing folders it reads. Google, Zoom and Atlassian share one connector.
RAW_ASSET_SOURCES: dict[str, tuple[str, ...]] = {
    **{
        source: (source,)
        for source in SOURCE_MODULES
        if source not in {"google", "zoom", "atlassian"}
    },
    "saas_users": ("google", "zoom", "atlassian"),
}
# Run ids whose landing-folder warnings were logged, so each run logs them once, not per asset.
_warned_runs: set[str] = set()


def tables_of(sources: tuple[str, ...]) -> list[str]:
    tables: set[str] = set()
    for source in sources:
        for module in source_modules(source):
            tables.update(module.SCHEMAS)
    return sorted(tables)


def _build_raw_asset(name: str, sources: tuple[str, ...]):
    tables = tables_of(sources)
    keys = {AssetKey(["raw", table]) for table in tables}
    specs = [
        AssetSpec(
            AssetKey(["raw", table]),
            group_name="raw",
            kinds={"duckdb"},
            description=f"raw.{table}: append-only rows parsed from {', '.join(sources)} exports.",
        )
        for table in tables
    ]

    @multi_asset(
        name=f"raw_{name}",
        specs=specs,
        check_specs=check_specs_for(keys),
        can_subset=False,
        pool="duckdb_writer",
        description=f"Load new export files from landing/{'|'.join(sources)}/ into raw tables.",
    )
    def _raw_asset(
        context: AssetExecutionContext,
        warehouse: WarehouseResource,
        landing: LandingResource,
        alerts: AlertsResource,
    ):
        failures = []
        warnings = folder_warnings(landing.root)
        if warnings and context.run_id not in _warned_runs:
            _warned_runs.add(context.run_id)
            for warning in warnings:
                context.log.warning(warning)
        with warehouse.connect() as con:
            for source in sources:
                summary = load_source(
                    con, source, landing.root, options={"log_date": landing.log_date}
                )
                failures.extend(summary.failures)
                context.log.info(
                    "Source %s: %d files loaded, %d skipped, %d failed; %d rows, %d rejected",
                    source,
                    sum(f.status == "loaded" for f in summary.files),
                    sum(f.status == "skipped" for f in summary.files),
                    len(summary.failures),
                    summary.rows_landed,
                    summary.rows_rejected,
                )
            for table in tables:
                count, rejected = con.execute(
                    f"""
                    select
                        (select count(*) from raw."{table}"),
                        (select coalesce(sum(f.rows_rejected), 0)
                           from raw.loaded_files as f
                           where f.file_sha256 in (
                               select file_sha256 from raw.loaded_tables
                               where table_name = ?))
                    """,
                    [table],
                ).fetchone()
                metadata = {
                    "dagster/row_count": int(count),
                    "rejected_rows": int(rejected),
                    "table": f"raw.{table}",
                }
                if warnings:
                    metadata["landing_folder_warnings"] = MetadataValue.json(warnings)
                yield MaterializeResult(asset_key=AssetKey(["raw", table]), metadata=metadata)
            for spec in check_specs_for(keys):
                suite = next(s for s in _suites_for(spec.asset_key))
                yield run_suite_check(con, suite, webhook_url=alerts.webhook_url, log=context.log)
        if failures:
            lines = "\n".join(f"- {f.file_name}: {f.message}" for f in failures)
            raise Failure(
                description=f"{len(failures)} file(s) in {'/'.join(sources)} could not be read:\n{lines}",
                metadata={"failed_files": MetadataValue.json([f.file_name for f in failures])},
            )

    return _raw_asset


def _suites_for(key: AssetKey) -> list[str]:
    from licpipe.checks.asset_checks import suite_names

    return [name for name in suite_names() if asset_key_for_suite(name) == key]


raw_assets = [_build_raw_asset(name, sources) for name, sources in RAW_ASSET_SOURCES.items()]
