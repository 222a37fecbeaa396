"""A sensor that starts a run when new export files arrive in the landing folder."""

import hashlib
import json

from dagster import AssetKey, RunRequest, SensorEvaluationContext, SkipReason, sensor

from licpipe.loading import landing_files
from licpipe.settings import load_settings


def _fingerprints(root) -> dict[str, str]:
    """Relative path -> size and modification time, for every landing file."""
    found: dict[str, str] = {}
    if not root.is_dir():
        return found
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in landing_files(folder):
            stat = path.stat()
            found[str(path.relative_to(root))] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return found


def affected_selection(new_files: list[str]) -> list[AssetKey]:
    """Raw tables of the sources with new files, plus every asset downstream of raw."""
    from licpipe.assets.dbt import licpipe_dbt_models
    from licpipe.assets.ml import ml_assets
    from licpipe.assets.publish import analytics_snapshot
    from licpipe.assets.raw import RAW_ASSET_SOURCES, raw_assets
    from licpipe.assets.recommendations import recommendation_assets

    # Source folder names are read case-insensitively, as the loader reads them.
    sources = {name.split("/", 1)[0].lower() for name in new_files}
    keys: list[AssetKey] = []
    for folders, definition in zip(RAW_ASSET_SOURCES.values(), raw_assets, strict=True):
        if sources & set(folders):
            keys.extend(definition.keys)
    for definition in [licpipe_dbt_models, *ml_assets, *recommendation_assets, analytics_snapshot]:
        keys.extend(definition.keys)
    return keys


@sensor(
    name="landing_sensor",
    job_name="nightly",
    minimum_interval_seconds=300,
    description="Starts a run for the sources whose landing folders have new or changed files.",
)
def landing_sensor(context: SensorEvaluationContext):
    root = load_settings().landing_dir
    current = _fingerprints(root)
    previous = json.loads(context.cursor) if context.cursor else {}
    new_files = sorted(name for name, mark in current.items() if previous.get(name) != mark)
    if not new_files:
        yield SkipReason(f"No new files under {root}.")
        return
    context.update_cursor(json.dumps(current, sort_keys=True))
    context.log.info("New landing files: %d (%s)", len(new_files), ", ".join(new_files[:5]))
    yield RunRequest(
        run_key="landing:"
        + hashlib.sha256(json.dumps(current, sort_keys=True).encode()).hexdigest(),
        asset_selection=affected_selection(new_files),
        tags={"licpipe/new_files": str(len(new_files))},
    )
