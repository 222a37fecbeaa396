"""Ground-truth files planted beside the demo exports, and the manifest of class counts."""

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np

from licpipe.demo.activity import Anomaly
from licpipe.demo.catalog import APPLICATIONS, INACTIVE_DAYS, NAMED_APPLICATIONS, TRAILING_DAYS
from licpipe.demo.writers.common import DemoData, last_use

LICENSES_HEADER = (
    "user_email",
    "application",
    "tier",
    "is_inactive",
    "is_terminated",
    "will_upgrade",
    "is_intermittent",
)
PEOPLE_HEADER = (
    "user_email",
    "employee_id",
    "username",
    "department",
    "role",
    "status",
    "is_external",
    "is_service_account",
)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _write(path: Path, header, rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def licence_truth(data: DemoData) -> list[dict]:
    """Return one truth record per named licence at the as-of date, derived from activity.

    Tier is the planted tier when the licence was used in the trailing 90 days, else
    non-user. Inactive means no use for at least 100 days before the as-of date, or never.
    """
    org = data.org
    last_day = org.days - 1
    records = []
    for position, licence in enumerate(org.licences):
        if licence.application_id not in NAMED_APPLICATIONS:
            continue
        person = org.people[licence.person]
        activity = data.activity[position]
        used_recently = bool(activity.active[org.days - TRAILING_DAYS :].any())
        last = last_use(activity)
        records.append(
            {
                "user_email": person.email,
                "application": APPLICATIONS[licence.application_id].name,
                "tier": licence.tier if used_recently else "non-user",
                "is_inactive": last is None or last_day - last >= INACTIVE_DAYS,
                "is_terminated": person.termination_day is not None,
                "will_upgrade": licence.will_upgrade,
                "is_intermittent": licence.is_intermittent,
            }
        )
    return records


def write_truth(
    data: DemoData,
    truth_dir: Path,
    anomalies: list[Anomaly],
    compliance: list[dict],
) -> dict:
    """Write the truth CSVs and return the class counts for the manifest."""
    org = data.org
    truth_dir.mkdir(parents=True, exist_ok=True)
    records = licence_truth(data)
    _write(
        truth_dir / "licenses.csv",
        LICENSES_HEADER,
        [
            [r["user_email"], r["application"], r["tier"]]
            + [_flag(r[key]) for key in LICENSES_HEADER[3:]]
            for r in records
        ],
    )

    _write(
        truth_dir / "provisioning.csv",
        ("user_email", "application", "needed_by"),
        [
            [
                org.people[need.person].email,
                APPLICATIONS[need.application_id].name,
                need.needed_by.isoformat(),
            ]
            for need in org.provisioning
        ],
    )
    _write(
        truth_dir / "people.csv",
        PEOPLE_HEADER,
        [
            [
                p.email,
                p.employee_id,
                p.username,
                p.department,
                p.role,
                p.status,
                _flag(p.is_external),
                _flag(p.is_service_account),
            ]
            for p in org.people
        ],
    )
    _write(
        truth_dir / "anomalies.csv",
        ("application", "observed_on", "kind"),
        [
            [APPLICATIONS[a.application_id].name, org.day_date(a.day).isoformat(), a.kind]
            for a in anomalies
        ],
    )
    _write(
        truth_dir / "compliance.csv",
        ("application", "sku", "seats_owned", "seats_used", "kind"),
        [
            [c["application"], c["sku"], c["seats_owned"], c["seats_used"], c["kind"]]
            for c in compliance
        ],
    )
    return _class_counts(data, records, anomalies, compliance)


def _class_counts(data: DemoData, records, anomalies, compliance) -> dict:
    org = data.org
    employees = [p for p in org.people if p.is_employee]
    tiers: dict[str, dict[str, int]] = {}
    for record in records:
        tiers.setdefault(record["application"], Counter())[record["tier"]] += 1
    return {
        "people": len(org.people),
        "employees": len(employees),
        "terminated_employees": sum(p.termination_day is not None for p in employees),
        "new_hires_in_period": sum(p.hire_day >= 0 for p in employees),
        "service_accounts": sum(p.is_service_account for p in org.people),
        "external_guests": sum(p.is_external for p in org.people),
        "engineers": len(org.engineers()),
        "licenses": dict(Counter(r["application"] for r in records)),
        "inactive_licenses": sum(r["is_inactive"] for r in records),
        "terminated_licenses": sum(r["is_terminated"] for r in records),
        "reclaim_right": sum(r["is_inactive"] or r["is_terminated"] for r in records),
        "intermittent_licenses": sum(r["is_intermittent"] for r in records),
        "will_upgrade": sum(r["will_upgrade"] for r in records),
        "tiers": {app: dict(sorted(counts.items())) for app, counts in sorted(tiers.items())},
        "provisioning_needs": len(org.provisioning),
        "anomalies": len(anomalies),
        "compliance_gaps": len(compliance),
    }


def write_manifest(truth_dir: Path, manifest: dict) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=True, default=_json_default)
    (truth_dir / "manifest.json").write_text(text + "\n", encoding="utf-8")


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    raise TypeError(f"manifest value {value!r} of type {type(value).__name__} is not JSON")
