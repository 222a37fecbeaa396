"""Find each source's landing folder and the folders and files that no source reads.

A folder whose name differs from a source only in letter case (`HR/`) is read as that source,
because exports are often copied from systems that do not keep case. Every other folder or
file at the top of the landing folder is reported, so a misspelt name is not silently ignored.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from licpipe.connectors import SOURCE_MODULES

# Files the pullers write beside the exports to describe them; never parsed as data.
SIDECAR_SUFFIXES = (".partial.json", ".md", ".sha256")


def _visible_entries(landing_dir: Path) -> list[Path]:
    if not landing_dir.is_dir():
        return []
    return sorted(path for path in landing_dir.iterdir() if not path.name.startswith("."))


def source_folders(landing_dir: Path, source: str) -> list[Path]:
    """Return the folders read as `source`: its own name first, then case-only variants."""
    folders = [
        path
        for path in _visible_entries(landing_dir)
        if path.is_dir() and path.name.lower() == source
    ]
    return sorted(folders, key=lambda path: (path.name != source, path.name))


def landing_files(source_dir: Path) -> list[Path]:
    """List the data files under a source folder, sorted, without hidden files and sidecars."""
    if not source_dir.is_dir():
        return []
    files = []
    for path in sorted(source_dir.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.name.endswith(SIDECAR_SUFFIXES):
            continue
        files.append(path)
    return files


def folder_warnings(landing_dir: Path) -> list[str]:
    """Describe each top-level folder or file of the landing folder that is misnamed or not read."""
    valid = ", ".join(sorted(SOURCE_MODULES))
    warnings = []
    for path in _visible_entries(landing_dir):
        name = path.name
        if path.is_dir() and name in SOURCE_MODULES:
            continue
        if path.is_dir() and name.lower() in SOURCE_MODULES:
            warnings.append(
                f"landing folder {name}/ is read as {name.lower()}/; rename it to "
                f"{name.lower()} so that every tool finds it"
            )
            continue
        if path.is_dir():
            close = difflib.get_close_matches(name.lower(), SOURCE_MODULES, n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]}?" if close else ""
            warnings.append(
                f"landing folder {name}/ is not a source folder, so its files are not read.{hint} "
                f"Valid folder names: {valid}"
            )
            continue
        warnings.append(
            f"file {name} at the top of the landing folder is not read. Move it into the folder "
            f"of its source: {valid}"
        )
    return warnings
