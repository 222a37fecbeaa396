"""Salesforce exports: the Setup Login History download and the User export with licence."""

from datetime import datetime, time, timedelta
from pathlib import Path

import numpy as np

from licpipe.connectors.salesforce import to_18_char_id
from licpipe.demo.writers.common import DemoData, iso_z, stable_id, write_csv

LOGIN_HEADER = (
    "Username,Login Time,Source IP,Location,Login Type,Status,Application,Browser,Platform,"
    "Login URL"
).split(",")
USER_HEADER = "Id,Username,Email,Name,IsActive,UserLicense,Profile,LastLoginDate".split(",")
LOCATION = {
    "Boston": "Boston, Massachusetts, United States",
    "Austin": "Austin, Texas, United States",
    "London": "London, England, United Kingdom",
    "Remote": "Denver, Colorado, United States",
}
PROFILE = {"Sales": "Sales User", "Finance": "Finance User", "Support": "Support Lead"}
LOGIN_URL = "acme.my.salesforce.com"


def salesforce_username(email: str) -> str:
    """Return the Salesforce username of a person: the e-mail with an org suffix, not an e-mail."""
    return f"{email}.acme"


def _login_time(moment: datetime) -> str:
    return moment.strftime("%m/%d/%Y %I:%M %p")


def write_salesforce(data: DemoData, landing: Path, rng: np.random.Generator) -> dict[str, int]:
    org = data.org
    logins: list[tuple[datetime, list[str]]] = []
    users = []
    for licence, activity in data.licences("salesforce"):
        person = org.people[licence.person]
        username = salesforce_username(person.email)
        source_ip = f"203.0.113.{10 + licence.person % 200}"
        last_success = None
        for day in np.flatnonzero(activity.active):
            count = 1 + int(rng.poisson(activity.events[day] / 20))
            base = datetime.combine(org.day_date(int(day)), time(0, 0))
            for minute in np.sort(rng.integers(7 * 60 + 30, 18 * 60, size=count)):
                moment = base + timedelta(minutes=int(minute))
                if rng.random() < 0.02:
                    logins.append(
                        (
                            moment - timedelta(minutes=1),
                            [
                                username,
                                _login_time(moment - timedelta(minutes=1)),
                                source_ip,
                                LOCATION[person.location],
                                "Application",
                                "Invalid Password",
                                "Browser",
                                "Chrome 131",
                                "Windows 10",
                                LOGIN_URL,
                            ],
                        )
                    )
                logins.append(
                    (
                        moment,
                        [
                            username,
                            _login_time(moment),
                            source_ip,
                            LOCATION[person.location],
                            "Application",
                            "Success",
                            "Browser",
                            "Chrome 131",
                            "Windows 10",
                            LOGIN_URL,
                        ],
                    )
                )
                last_success = moment
        users.append(
            [
                # A 15-character record id plus its case-safe checksum, as Salesforce exports.
                to_18_char_id(stable_id("005", f"salesforce:{person.email}", 12)),
                username,
                person.email,
                person.display_name,
                "true",
                "Salesforce",
                PROFILE.get(person.department, "Standard User"),
                iso_z(last_success) if last_success else "",
            ]
        )

    # The Setup download lists the newest logins first.
    logins.sort(key=lambda item: item[0], reverse=True)
    folder = landing / "salesforce"
    write_csv(folder / "LoginHistory.csv", LOGIN_HEADER, [row for _, row in logins])
    write_csv(folder / "User.csv", USER_HEADER, users)
    return {"logins": len(logins), "users": len(users)}
