"""Microsoft 365 usage reports: daily Office 365 active user detail and the D180 counts report."""

from datetime import date
from pathlib import Path

import numpy as np

from licpipe.demo.writers.common import DemoData, write_csv

DETAIL_HEADER = (
    "Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,"
    "Has Exchange License,Has OneDrive License,Has SharePoint License,"
    "Has Skype For Business License,Has Yammer License,Has Teams License,"
    "Exchange Last Activity Date,OneDrive Last Activity Date,SharePoint Last Activity Date,"
    "Skype For Business Last Activity Date,Yammer Last Activity Date,Teams Last Activity Date,"
    "Exchange License Assign Date,OneDrive License Assign Date,SharePoint License Assign Date,"
    "Skype For Business License Assign Date,Yammer License Assign Date,"
    "Teams License Assign Date,Assigned Products"
).split(",")
COUNTS_HEADER = (
    "Report Refresh Date,Office 365,Exchange,OneDrive,SharePoint,Skype For Business,Yammer,"
    "Teams,Report Date,Report Period"
).split(",")
ASSIGNED_PRODUCTS = "MICROSOFT 365 E3"
# Services in report order: Exchange, OneDrive, SharePoint, Skype For Business, Yammer, Teams.
# Each value is the chance that a person active on a day used that service on that day.
SERVICE_SHARE = (0.9, 0.45, 0.35, 0.0, 0.03, 0.8)
SERVICE_ACCOUNT_SHARE = {
    "svc-backup": (0.3, 1.0, 1.0, 0.0, 0.0, 0.0),
    "svc-scanner": (1.0,) + (0.0,) * 5,
}
NO_DAY = -(10**6)
EARLIEST_ASSIGN = date(2021, 3, 1)


def _service_activity(active: np.ndarray, shares: tuple, rng: np.random.Generator) -> np.ndarray:
    """Split a person's daily activity over services, keeping at least one on every active day."""
    draws = rng.random((len(shares), active.size)) < np.array(shares)[:, None]
    fallback = int(np.argmax(shares))
    draws[fallback] |= ~draws.any(axis=0)
    return draws & active[None, :]


def _last_activity_days(service_active: np.ndarray, before_period: np.ndarray) -> np.ndarray:
    """Return, per service and day, the latest day with activity up to that day (a state)."""
    days = service_active.shape[1]
    marks = np.where(service_active, np.arange(days)[None, :], NO_DAY)
    marks[:, 0] = np.maximum(marks[:, 0], before_period)
    return np.maximum.accumulate(marks, axis=1)


def write_m365(data: DemoData, landing: Path, rng: np.random.Generator) -> dict[str, int]:
    """Write one `date=` active-user-detail file per day and the D180 counts report."""
    org = data.org
    days = org.days
    folder = landing / "m365"
    date_text: dict[int, str] = {}

    def text_of(day: int) -> str:
        if day <= NO_DAY:
            return ""
        if day not in date_text:
            date_text[day] = org.day_date(day).isoformat()
        return date_text[day]

    users = []
    for licence, activity in data.licences("m365"):
        person = org.people[licence.person]
        shares = SERVICE_ACCOUNT_SHARE.get(person.email.split("@")[0], SERVICE_SHARE)
        service_active = _service_activity(activity.active, shares, rng)
        used_before = licence.start_day < 0 and not licence.never_used
        gaps = -rng.geometric(0.4, size=len(shares))
        before = np.where(used_before & (np.array(shares) > 0), gaps, NO_DAY)
        assigned = max(person.hire_date or EARLIEST_ASSIGN, EARLIEST_ASSIGN)
        if licence.start_day >= 0:
            assigned = org.day_date(licence.start_day)
        users.append(
            (licence, person, service_active, _last_activity_days(service_active, before), assigned)
        )

    counts = []
    for day in range(days):
        today = text_of(day)
        rows = []
        totals = np.zeros(7, dtype=int)
        for licence, person, service_active, last_days, assigned in users:
            if licence.start_day > day:
                continue
            assign_text = assigned.isoformat()
            last = [text_of(int(value)) for value in last_days[:, day]]
            rows.append(
                [today, person.email, person.display_name, "False", ""]
                + ["True", "True", "True", "True", "True", "True"]
                + last
                + [assign_text] * 6
                + [ASSIGNED_PRODUCTS]
            )
            used = service_active[:, day]
            totals[0] += bool(used.any())
            totals[1:] += used
        write_csv(folder / f"Office365ActiveUserDetail_{today}.csv", DETAIL_HEADER, rows, bom=True)
        counts.append([org.as_of.isoformat(), *totals.tolist(), today, 180])

    counts.reverse()
    write_csv(folder / "Office365ActiveUserCounts_D180.csv", COUNTS_HEADER, counts, bom=True)
    return {"files": days + 1}
