"""Adobe Admin Console user export and the Okta System Log and user list."""

import json
from datetime import datetime, time, timedelta
from pathlib import Path

import numpy as np

from licpipe.demo.catalog import DOMAIN
from licpipe.demo.writers.common import DemoData, iso_z, stable_id, stable_uuid, write_csv

ADOBE_HEADER = (
    "Identity Type,Username,Domain,Email,First Name,Last Name,Country Code,"
    "Product Configurations,Admin Roles,Product Configurations Administered,User Groups,"
    "User Groups Administered,Products Administered,Developer Access"
).split(",")
OKTA_USERS_HEADER = "id,login,email,status,created,activated,statusChanged,lastLogin".split(",")
ADOBE_APP = "Adobe Creative Cloud"
ADOBE_APP_ID = stable_id("0oa", "okta-app:adobe", 17)
COUNTRY = {"London": "GB"}


def write_adobe(data: DemoData, landing: Path) -> dict[str, int]:
    org = data.org
    rows = []
    for licence, _ in data.licences("adobe_cc"):
        person = org.people[licence.person]
        rows.append(
            [
                "Federated ID",
                person.adobe_email,
                DOMAIN,
                person.adobe_email,
                person.first_name,
                person.last_name,
                COUNTRY.get(person.location, "US"),
                "Creative Cloud All Apps",
                "",
                "",
                person.department,
                "",
                "",
                "",
            ]
        )
    admins = [p for p in org.people if p.is_employee and p.department == "IT"][:2]
    for person in admins:
        rows.append(
            [
                "Federated ID",
                person.email,
                DOMAIN,
                person.email,
                person.first_name,
                person.last_name,
                "US",
                "",
                "System Admin",
                "",
                "",
                "",
                "",
                "",
            ]
        )
    write_csv(landing / "adobe" / "adobe_users.csv", ADOBE_HEADER, rows)
    return {"users": len(rows)}


def _okta_event(person, moment: datetime, event_type: str, sequence: int) -> dict:
    actor_id = stable_id("00u", f"okta:{person.email}", 17)
    event = {
        "uuid": stable_uuid(f"okta-event:{person.email}:{moment.isoformat()}:{sequence}"),
        "published": iso_z(moment),
        "eventType": event_type,
        "version": "0",
        "severity": "INFO",
        "actor": {
            "id": actor_id,
            "type": "User",
            "alternateId": person.email,
            "displayName": person.display_name,
        },
        "client": {"zone": "null", "ipAddress": f"198.51.100.{10 + person.index % 200}"},
        "outcome": {"result": "SUCCESS"},
    }
    if event_type == "user.session.start":
        event["displayMessage"] = "User login to Okta"
        event["legacyEventType"] = "core.user_auth.login_success"
        event["target"] = None
    else:
        event["displayMessage"] = "User single sign on to app"
        event["legacyEventType"] = "app.auth.sso"
        event["target"] = [
            {
                "id": ADOBE_APP_ID,
                "type": "AppInstance",
                "alternateId": ADOBE_APP,
                "displayName": ADOBE_APP,
                "detailEntry": {"signOnModeType": "SAML_2_0"},
            },
            {
                "id": stable_id("0ua", f"okta-appuser:{person.email}", 17),
                "type": "AppUser",
                "alternateId": person.adobe_email.strip(),
                "displayName": person.display_name,
            },
        ]
    return event


def _month_files(events: list[tuple[datetime, dict]], rng: np.random.Generator) -> dict[str, list]:
    """Group events by month, repeat a few across month files and shuffle some neighbours."""
    events.sort(key=lambda item: (item[0], item[1]["uuid"]))
    months: dict[str, list] = {}
    for moment, event in events:
        months.setdefault(f"{moment:%Y-%m}", []).append((moment, event))
    keys = sorted(months)
    for earlier, later in zip(keys, keys[1:], strict=False):
        # An overlapping poll: the first events of a month also land in the previous file.
        months[earlier].extend(months[later][:8])
    for key in keys:
        rows = months[key]
        for position in range(0, len(rows) - 1, 37):
            if rng.random() < 0.5:
                rows[position], rows[position + 1] = rows[position + 1], rows[position]
    return months


def write_okta(data: DemoData, landing: Path, rng: np.random.Generator) -> dict[str, int]:
    """Write SSO launches of Adobe Creative Cloud, each after an Okta session start."""
    org = data.org
    events: list[tuple[datetime, dict]] = []
    for licence, activity in data.licences("adobe_cc"):
        person = org.people[licence.person]
        for day in np.flatnonzero(activity.active):
            base = datetime.combine(org.day_date(int(day)), time(0, 0))
            start = base + timedelta(seconds=int(rng.integers(7 * 3600, 11 * 3600)))
            start += timedelta(milliseconds=int(rng.integers(1000)))
            events.append((start, _okta_event(person, start, "user.session.start", 0)))
            launches = 1 + int(rng.poisson(activity.events[day] / 15))
            for sequence in range(launches):
                moment = start + timedelta(seconds=int(rng.integers(20, 8 * 3600)))
                events.append(
                    (moment, _okta_event(person, moment, "user.authentication.sso", sequence + 1))
                )

    folder = landing / "okta"
    folder.mkdir(parents=True, exist_ok=True)
    months = _month_files(events, rng)
    for key, rows in months.items():
        with (folder / f"system_log_{key}.ndjson").open("w", encoding="utf-8", newline="\n") as fh:
            for _, event in rows:
                fh.write(json.dumps(event, separators=(",", ":")) + "\n")

    _write_okta_users(data, folder)
    return {"events": len(events), "files": len(months) + 1}


def _write_okta_users(data: DemoData, folder: Path) -> None:
    org = data.org
    rows = []
    for person in org.people:
        if not person.is_employee:
            continue
        created = datetime.combine(person.hire_date, time(8, 0))
        activated = created + timedelta(hours=1)
        m365 = data.activity[data.by_key[(person.index, "m365")]]
        active_days = np.flatnonzero(m365.active)
        last_login = ""
        if active_days.size:
            day = int(active_days[-1])
            moment = datetime.combine(org.day_date(day), time(8, 0))
            last_login = iso_z(moment + timedelta(minutes=person.index % 90))
        if person.termination_date:
            status = "DEPROVISIONED"
            changed = datetime.combine(person.termination_date, time(17, 30))
        else:
            status, changed = "ACTIVE", activated
        rows.append(
            [
                stable_id("00u", f"okta:{person.email}", 17),
                person.email,
                person.email,
                status,
                iso_z(created),
                iso_z(activated),
                iso_z(changed),
                last_login,
            ]
        )
    write_csv(folder / "users.csv", OKTA_USERS_HEADER, rows, line_end="\n")
