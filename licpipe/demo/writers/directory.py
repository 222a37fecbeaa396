"""HR directory, purchased entitlements and the Intune discovered-apps export."""

from datetime import date, timedelta
from pathlib import Path

import numpy as np

from licpipe.demo.writers.common import DemoData, fmt_date, stable_id, stable_uuid, write_csv

HR_HEADER = (
    "employee_id,email,username,first_name,last_name,department,role,manager_email,location,"
    "cost_center,fte,hire_date,termination_date,status"
).split(",")
ENTITLEMENT_HEADER = (
    "vendor,application,sku,license_model,feature,seats,unit_price,price_period,currency,"
    "term_start,term_end,renewal_date,quote_unit_price,min_commitment_seats,"
    "reassignment_limit_days,notes"
).split(",")
INTUNE_HEADER = (
    "ApplicationKey,ApplicationName,ApplicationPublisher,ApplicationShortVersion,"
    "ApplicationVersion,DeviceId,DeviceName,OSDescription,OSVersion,Platform,UserId,"
    "EmailAddress,UserName"
).split(",")
CAD_LAB_DEVICES = 4


def write_hr(data: DemoData, landing: Path) -> int:
    rows = []
    for person in data.org.people:
        if not person.is_employee:
            continue
        rows.append(
            (
                person.employee_id,
                person.email,
                person.username,
                person.first_name,
                person.last_name,
                person.department,
                person.role,
                person.manager_email,
                person.location,
                person.cost_center,
                f"{person.fte:.1f}",
                fmt_date(person.hire_date),
                fmt_date(person.termination_date),
                person.status,
            )
        )
    return write_csv(landing / "hr" / "hr_directory.csv", HR_HEADER, rows, line_end="\n")


def adobe_seats_purchased(data: DemoData) -> int:
    """Return the Adobe seats bought: fewer than assigned, so the demo plants an over-assignment."""
    assigned = len(data.org.holders("adobe_cc"))
    return max(1, assigned - max(3, round(assigned * 0.05)))


def write_entitlements(data: DemoData, landing: Path) -> int:
    org = data.org
    m365 = len(org.holders("m365"))
    first_line = round(m365 * 0.9)
    term_start = date(org.as_of.year, 3, 1)
    term_end = date(org.as_of.year + 1, 2, 28)
    renewal = date(org.as_of.year + 1, 3, 1)
    rows = [
        (
            "Microsoft",
            "Microsoft 365",
            "Microsoft 365 E3",
            "named",
            "",
            first_line,
            "36.0000",
            "month",
            "USD",
            term_start,
            term_end,
            renewal,
            "34.5000",
            first_line,
            "",
            "annual EA",
        ),
        (
            "Microsoft",
            "Microsoft 365",
            "Microsoft 365 E3",
            "named",
            "",
            m365 - first_line + 8,
            "36.0000",
            "month",
            "USD",
            date(org.as_of.year, 7, 1),
            term_end,
            renewal,
            "34.5000",
            "",
            "",
            "mid-term true-up",
        ),
        (
            "Adobe",
            "Adobe Creative Cloud",
            "Creative Cloud All Apps",
            "named",
            "",
            adobe_seats_purchased(data),
            "89.9900",
            "month",
            "USD",
            date(org.as_of.year, 4, 1),
            date(org.as_of.year + 1, 3, 31),
            date(org.as_of.year + 1, 4, 1),
            "84.9900",
            "",
            "",
            "VIP Marketplace",
        ),
        (
            "Salesforce",
            "Salesforce Sales Cloud",
            "Sales Cloud Enterprise",
            "named",
            "",
            len(org.holders("salesforce")) + 5,
            "165.0000",
            "month",
            "USD",
            date(org.as_of.year, 2, 1),
            date(org.as_of.year + 1, 1, 31),
            date(org.as_of.year + 1, 2, 1),
            "158.0000",
            # A contract floor below the seats owned, so renewal sizing has room to cut.
            (len(org.holders("salesforce")) + 5) // 2,
            "",
            "",
        ),
        (
            "Slack",
            "Slack",
            "Slack Business+",
            "named",
            "",
            len(org.holders("slack")) + 10,
            "15.0000",
            "month",
            "USD",
            date(org.as_of.year, 1, 1),
            date(org.as_of.year, 12, 31),
            date(org.as_of.year + 1, 1, 1),
            "14.2500",
            "",
            "",
            "billed on active members",
        ),
        (
            "Acme Software",
            "AcmeCAD",
            "CAD_PRO",
            "concurrent",
            "CAD_PRO",
            org.cad_seats,
            "4200.0000",
            "year",
            "USD",
            date(org.as_of.year, 6, 1),
            date(org.as_of.year + 1, 5, 31),
            date(org.as_of.year + 1, 6, 1),
            "4000.0000",
            "",
            30,
            "floating, server licsrv01",
        ),
    ]
    return write_csv(
        landing / "entitlements" / "entitlements.csv",
        ENTITLEMENT_HEADER,
        [
            [value.isoformat() if isinstance(value, date) else value for value in row]
            for row in rows
        ],
        line_end="\n",
    )


def device_name(person_index: int, department: str) -> str:
    """Return the device name of a person's primary device, which FlexLM logs use as host."""
    prefix = "ENG-WS" if department == "Engineering" else "ACME-LT"
    return f"{prefix}-{1000 + person_index:04d}"


_APPS = {
    "m365": (
        "Microsoft 365 Apps for enterprise - en-us",
        "Microsoft Corporation",
        "16.0",
        "16.0.18129.20158",
    ),
    "slack": ("Slack", "Slack Technologies Inc.", "4.41", "4.41.105"),
    "adobe_cc": ("Adobe Creative Cloud", "Adobe Inc.", "6.4", "6.4.0.361"),
    "acmecad": ("AcmeCAD 2026", "Acme Software", "2026.1", "2026.1.2.4410"),
}


def _intune_row(app: str, device: str, mac: bool, person_email: str, name: str) -> list[str]:
    title, publisher, short, version = _APPS[app]
    os_description = "macOS 15.1" if mac else "Windows 11 Enterprise"
    os_version = "15.1.0" if mac else "10.0.22631.4602"
    user_id = stable_uuid(f"entra:{person_email}") if person_email else ""
    return [
        stable_id("", f"{title}|{version}", 24).lower(),
        title,
        publisher,
        short,
        version,
        stable_uuid(f"device:{device}"),
        device,
        os_description,
        os_version,
        "macOS" if mac else "Windows",
        user_id,
        person_email,
        name,
    ]


def write_installs(data: DemoData, landing: Path, rng: np.random.Generator) -> dict[str, int]:
    """Write the Intune raw inventory, where AcmeCAD is on more devices than there are seats."""
    org = data.org
    rows = []
    adobe = {lic.person for lic in org.holders("adobe_cc")}
    cad_devices = 0
    for person in org.people:
        if not person.is_employee:
            continue
        device = device_name(person.index, person.department)
        mac = person.department == "Design" or rng.random() < 0.1
        apps = ["m365", "slack"]
        if person.index in adobe:
            apps.append("adobe_cc")
        if person.department == "Engineering":
            apps.append("acmecad")
            cad_devices += 1
        for app in apps:
            rows.append(_intune_row(app, device, mac, person.email, person.display_name))
    for number in range(CAD_LAB_DEVICES):
        rows.append(_intune_row("acmecad", f"LAB-CAD-{number + 1:02d}", False, "", ""))
        cad_devices += 1
    write_csv(landing / "installs" / "AppInvRawData.csv", INTUNE_HEADER, rows)
    return {"acmecad_devices": cad_devices, "rows": len(rows)}


def period_dates(start: date, days: int) -> list[date]:
    return [start + timedelta(days=day) for day in range(days)]
