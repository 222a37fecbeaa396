"""Generate the demo organisation's landing files and its ground truth."""

import logging
import shutil
from datetime import date
from pathlib import Path

import numpy as np

from licpipe.demo.activity import simulate
from licpipe.demo.catalog import APPLICATIONS
from licpipe.demo.organisation import build_organisation
from licpipe.demo.truth import write_manifest, write_truth
from licpipe.demo.writers.common import DemoData
from licpipe.demo.writers.directory import (
    adobe_seats_purchased,
    write_entitlements,
    write_hr,
    write_installs,
)
from licpipe.demo.writers.flexlm import write_flexlm
from licpipe.demo.writers.identity import write_adobe, write_okta
from licpipe.demo.writers.m365 import write_m365
from licpipe.demo.writers.salesforce import write_salesforce
from licpipe.demo.writers.slack import write_slack

logger = logging.getLogger(__name__)

# Each part draws from its own stream, so changing one writer leaves the others' files alone.
STREAMS = {
    "organisation": 0,
    "activity": 1,
    "m365": 2,
    "slack": 3,
    "salesforce": 4,
    "okta": 5,
    "flexlm": 6,
    "installs": 7,
}


def _stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, STREAMS[name]])


def _prepare(out_dir: Path) -> tuple[Path, Path]:
    """Return empty landing and truth folders, replacing those of an earlier demo only."""
    landing, truth = out_dir / "landing", out_dir / "truth"
    if (truth / "manifest.json").exists():
        logger.info("replacing the earlier demo in %s", out_dir)
        shutil.rmtree(landing, ignore_errors=True)
        shutil.rmtree(truth)
    elif landing.exists() and any(landing.iterdir()):
        raise FileExistsError(
            f"{landing} is not empty and contains no demo manifest, so it was not overwritten: choose an empty output folder"
        )
    landing.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    return landing, truth


def generate(
    out_dir: Path,
    *,
    users: int = 500,
    days: int = 180,
    seed: int = 7,
    as_of: date = date(2026, 12, 15),
) -> dict:
    """Write `out_dir/landing/<source>/` exports and `out_dir/truth/`, and return the manifest.

    The same arguments always give byte-identical files. `users` counts employees (service
    accounts and external guests come on top), and the `days` period ends on `as_of`.
    """
    out_dir = Path(out_dir)
    logger.info("generating demo: users=%d days=%d seed=%d as_of=%s", users, days, seed, as_of)
    landing, truth_dir = _prepare(out_dir)

    org = build_organisation(users, days, as_of, _stream(seed, "organisation"))
    activity, anomalies = simulate(org, _stream(seed, "activity"))
    data = DemoData(org, activity)

    sources = {
        "hr": {"rows": write_hr(data, landing)},
        "entitlements": {"rows": write_entitlements(data, landing)},
        "installs": write_installs(data, landing, _stream(seed, "installs")),
        "m365": write_m365(data, landing, _stream(seed, "m365")),
        "slack": write_slack(data, landing, _stream(seed, "slack")),
        "salesforce": write_salesforce(data, landing, _stream(seed, "salesforce")),
        "adobe": write_adobe(data, landing),
        "okta": write_okta(data, landing, _stream(seed, "okta")),
        "flexlm": write_flexlm(data, landing, _stream(seed, "flexlm")),
    }

    compliance = [
        {
            "application": APPLICATIONS["adobe_cc"].name,
            "sku": APPLICATIONS["adobe_cc"].sku,
            "seats_owned": adobe_seats_purchased(data),
            "seats_used": len(org.holders("adobe_cc")),
            "kind": "over_assigned",
        },
        {
            "application": APPLICATIONS["acmecad"].name,
            "sku": APPLICATIONS["acmecad"].sku,
            "seats_owned": org.cad_seats,
            "seats_used": sources["installs"]["acmecad_devices"],
            "kind": "over_installed",
        },
    ]
    counts = write_truth(data, truth_dir, anomalies, compliance)
    counts["cad_seats"] = org.cad_seats
    manifest = {
        "seed": seed,
        "users": users,
        "days": days,
        "as_of": as_of.isoformat(),
        "period_start": org.start.isoformat(),
        "counts": counts,
        "sources": sources,
    }
    write_manifest(truth_dir, manifest)
    logger.info("demo written to %s: %d licences", out_dir, sum(counts["licenses"].values()))
    return manifest
