"""Slack exports: one member analytics file per day (window in the name) and the members list."""

from datetime import date
from pathlib import Path

import numpy as np

from licpipe.demo.organisation import Person
from licpipe.demo.writers.common import DemoData, stable_id, write_csv

ANALYTICS_HEADER = (
    "Name,What I Do,User ID,Username,Display name,Email,Account type,Account created (UTC),"
    "Claimed Date (UTC),Deactivated date (UTC),Days active,Days active (Desktop),"
    "Days active (Android),Days active (iOS),Messages posted,Messages posted in channels,"
    "Reactions added,Last active (UTC),Last active (Desktop) (UTC),Last active (Android) (UTC),"
    "Last active (iOS) (UTC)"
).split(",")
MEMBERS_HEADER = (
    "username,email,status,billing-active,has-2fa,has-sso,userid,fullname,displayname"
).split(",")
WORKSPACE = "Acme"
# Accounts of people hired earlier were created when the workspace started.
SLACK_ADOPTED = date(2021, 3, 1)


def slack_date(value: date | None) -> str:
    """Format a date as Slack's analytics export does, such as `Apr 7, 2026`."""
    return f"{value:%b} {value.day}, {value.year}" if value else ""


def _member_fields(person: Person) -> tuple[str, str, str, str]:
    user_id = stable_id("U0", f"slack:{person.email}", 9)
    handle = person.email.split("@")[0]
    account_type = "Multi-Channel Guest" if person.is_external else "Full Member"
    created = max(person.hire_date or SLACK_ADOPTED, SLACK_ADOPTED)
    return user_id, handle, account_type, slack_date(created)


def write_slack(data: DemoData, landing: Path, rng: np.random.Generator) -> dict[str, int]:
    org = data.org
    folder = landing / "slack"
    members = []
    for licence, activity in data.licences("slack"):
        person = org.people[licence.person]
        user_id, handle, account_type, created = _member_fields(person)
        marks = np.where(activity.active, np.arange(org.days), -1)
        active_days = np.maximum.accumulate(marks)
        last_before = None
        if licence.start_day < 0 and not licence.never_used:
            last_before = org.day_date(-int(rng.geometric(0.4)))
        mobile = rng.random(org.days) < 0.3
        members.append(
            (
                licence,
                person,
                activity,
                user_id,
                handle,
                account_type,
                created,
                active_days,
                last_before,
                mobile,
            )
        )

    for day in range(org.days):
        today = org.day_date(day)
        rows = []
        for (
            licence,
            person,
            activity,
            user_id,
            handle,
            account_type,
            created,
            active_days,
            last_before,
            mobile,
        ) in members:
            if licence.start_day > day:
                continue
            last_day = int(active_days[day])
            last = org.day_date(last_day) if last_day >= 0 else last_before
            active = int(activity.active[day])
            messages = int(activity.events[day])
            on_mobile = active and bool(mobile[day])
            rows.append(
                [
                    person.display_name,
                    person.role,
                    user_id,
                    handle,
                    person.first_name,
                    person.email,
                    account_type,
                    created,
                    created,
                    "",
                    active,
                    active,
                    0,
                    int(on_mobile),
                    messages,
                    messages * 2 // 3,
                    messages // 4,
                    slack_date(last),
                    slack_date(last),
                    "",
                    slack_date(last) if on_mobile else "",
                ]
            )
        stamp = slack_date(today)
        name = f"{WORKSPACE} Member Analytics {stamp} - {stamp}.csv"
        write_csv(folder / name, ANALYTICS_HEADER, rows, line_end="\n")

    member_rows = []
    for _licence, person, _activity, user_id, handle, *_ in members:
        status = "Multi-Channel Guest" if person.is_external else "Member"
        if person.role == "IT Manager":
            status = "Admin"
        member_rows.append(
            [
                handle,
                person.email,
                status,
                1,
                1,
                0 if person.is_external else 1,
                user_id,
                person.display_name,
                person.first_name,
            ]
        )
    write_csv(folder / "members.csv", MEMBERS_HEADER, member_rows, line_end="\n")
    return {"files": org.days + 1}
