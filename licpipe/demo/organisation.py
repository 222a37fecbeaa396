"""People, departments and licence holdings of the demo organisation, with planted classes.

Day numbers count from the first day of the exported period (day 0), and negative numbers are
before it. Every random draw comes from the one generator passed in, in a fixed order, so a
seed gives the same organisation every time.
"""

import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from licpipe.demo.catalog import (
    DEPARTMENTS,
    DOMAIN,
    FIRST_NAMES,
    INACTIVE_DAYS,
    LAST_NAMES,
    LOCATIONS,
    NEXT_TIER,
    TIER_SHARES,
    TRAILING_DAYS,
)

# Departments where most people hold the application, so a peer-driven request is likely.
AFFINE_DEPARTMENTS = {"adobe_cc": {"Design", "Marketing"}, "salesforce": {"Sales", "Finance"}}
HOLDER_SHARE = {"Design": 0.92, "Marketing": 0.82, "Sales": 0.95, "Finance": 1.0}
OTHER_ADOBE_SHARE = 0.04


@dataclass
class Person:
    """One identity: an employee, a service account or an external Slack guest."""

    index: int
    email: str
    first_name: str
    last_name: str
    department: str
    role: str
    username: str = ""
    employee_id: str = ""
    manager_email: str = ""
    location: str = ""
    cost_center: str = ""
    fte: float = 1.0
    hire_day: int = -1000
    hire_date: date | None = None
    termination_day: int | None = None
    termination_date: date | None = None
    is_external: bool = False
    is_service_account: bool = False
    flexlm_login: str = ""
    adobe_email: str = ""

    @property
    def is_employee(self) -> bool:
        return not (self.is_external or self.is_service_account)

    @property
    def status(self) -> str:
        return "terminated" if self.termination_day is not None else "active"

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Licence:
    """One person's holding of one application, with the behaviour planted for it.

    `start_day` is the first day of use (assignment), `end_day` is exclusive. For a lapsed
    inactive licence `last_use_day` is the last day of use, and `never_used` marks a licence that
    is assigned but never used.
    """

    person: int
    application_id: str
    tier: str
    start_day: int
    end_day: int
    is_intermittent: bool = False
    will_upgrade: bool = False
    is_seasonal: bool = False
    never_used: bool = False
    last_use_day: int | None = None


@dataclass
class ProvisioningNeed:
    """An employee who starts using an application they do not hold after the as-of date."""

    person: int
    application_id: str
    needed_by: date


@dataclass
class Organisation:
    """The generated organisation: people, licences and the planted provisioning needs."""

    as_of: date
    days: int
    people: list[Person] = field(default_factory=list)
    licences: list[Licence] = field(default_factory=list)
    provisioning: list[ProvisioningNeed] = field(default_factory=list)
    cad_seats: int = 0

    @property
    def start(self) -> date:
        return self.as_of - timedelta(days=self.days - 1)

    def day_date(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def holders(self, application_id: str) -> list[Licence]:
        return [lic for lic in self.licences if lic.application_id == application_id]

    def engineers(self) -> list[Person]:
        return [p for p in self.people if p.is_employee and p.department == "Engineering"]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _department_sizes(users: int) -> dict[str, int]:
    sizes = {name: max(2, round(users * share)) for name, (share, _) in DEPARTMENTS.items()}
    sizes["Operations"] += users - sum(sizes.values())
    if sizes["Operations"] < 2:
        raise ValueError(f"users={users} is too small for the demo: use at least 40")
    return sizes


def _build_employees(org: Organisation, users: int, rng: np.random.Generator) -> None:
    used_emails: set[str] = set()
    used_logins: set[str] = set()
    managers: dict[str, str] = {}
    for department, size in _department_sizes(users).items():
        roles = DEPARTMENTS[department][1]
        for position in range(size):
            first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
            last = LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]
            base = f"{_ascii(first)}.{_ascii(last)}"
            email_local, suffix = base, 2
            while f"{email_local}@{DOMAIN}" in used_emails:
                email_local, suffix = f"{base}{suffix}", suffix + 1
            login_base = f"{_ascii(first)[0]}{_ascii(last)}"[:12]
            login, suffix = login_base, 2
            while login in used_logins:
                login, suffix = f"{login_base}{suffix}", suffix + 1
            email = f"{email_local}@{DOMAIN}"
            used_emails.add(email)
            used_logins.add(login)

            role = f"{department} Manager" if position == 0 else roles[position % len(roles)]
            person = Person(
                index=len(org.people),
                email=email,
                first_name=first,
                last_name=last,
                department=department,
                role=role,
                username=login,
                employee_id=f"E{10001 + len(org.people)}",
                location=LOCATIONS[int(rng.integers(len(LOCATIONS)))],
                cost_center=f"CC-{department[:3].upper()}",
                fte=float(rng.choice([1.0, 1.0, 1.0, 1.0, 0.8, 0.5])),
            )
            if position == 0:
                managers[department] = email
            person.manager_email = managers[department] if position else ""
            org.people.append(person)

    chief = org.people[0].email
    for person in org.people:
        if not person.manager_email and person.email != chief:
            person.manager_email = chief


def _plant_dates(org: Organisation, rng: np.random.Generator) -> None:
    """Draw hire dates (about 8% inside the period) and terminations (about 3% of people)."""
    days = org.days
    employees = [p for p in org.people if p.is_employee]
    for person in employees:
        if person.role.endswith("Manager") or rng.random() >= 0.08:
            person.hire_day = -int(rng.integers(30, 3000))
        else:
            person.hire_day = int(rng.integers(0, days - 5))
        person.hire_date = org.day_date(person.hire_day)

    candidates = [p for p in employees if p.hire_day < 0 and not p.role.endswith("Manager")]
    count = max(1, round(0.03 * len(employees)))
    for position in rng.choice(len(candidates), size=count, replace=False):
        person = candidates[int(position)]
        person.termination_day = days - 1 - int(rng.integers(5, 46))
        person.termination_date = org.day_date(person.termination_day)


def _add_non_employees(org: Organisation, users: int, rng: np.random.Generator) -> None:
    for local, role in (("svc-backup", "Backup service"), ("svc-scanner", "Scan-to-mail service")):
        org.people.append(
            Person(
                index=len(org.people),
                email=f"{local}@{DOMAIN}",
                first_name=local,
                last_name="(service)",
                department="IT",
                role=role,
                is_service_account=True,
            )
        )
    partners = ("brightloop-agency.example", "northwind-consulting.example")
    for number in range(max(2, round(users / 100))):
        first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
        last = LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]
        org.people.append(
            Person(
                index=len(org.people),
                email=f"{_ascii(first)}.{_ascii(last)}{number}@{partners[number % 2]}",
                first_name=first,
                last_name=last,
                department="External",
                role="Guest",
                is_external=True,
            )
        )


def _draw_tier(rng: np.random.Generator) -> str:
    names = [name for name, _ in TIER_SHARES]
    weights = [share for _, share in TIER_SHARES]
    return names[int(rng.choice(len(names), p=weights))]


def _identity_quirks(org: Organisation, rng: np.random.Generator) -> None:
    """Upper-case a few FlexLM logins and damage a few Adobe e-mails, as real exports do."""
    for person in org.people:
        person.flexlm_login = person.username
        person.adobe_email = person.email
    engineers = org.engineers()
    for position in rng.choice(len(engineers), size=min(3, len(engineers)), replace=False):
        person = engineers[int(position)]
        person.flexlm_login = person.username.upper()

    adobe_holders = [org.people[lic.person] for lic in org.holders("adobe_cc")]
    for number, position in enumerate(
        rng.choice(len(adobe_holders), size=min(5, len(adobe_holders)), replace=False)
    ):
        person = adobe_holders[int(position)]
        person.adobe_email = person.email.upper() if number % 2 == 0 else f"{person.email} "


def _assign_named(org: Organisation, rng: np.random.Generator) -> None:
    """Give every identity its licences and draw the planted tier of each."""
    days = org.days
    for person in org.people:
        if person.is_service_account:
            tier = "power" if person.email.startswith("svc-backup") else "regular"
            org.licences.append(Licence(person.index, "m365", tier, -1000, days))
            continue
        if person.is_external:
            org.licences.append(Licence(person.index, "slack", _draw_tier(rng), -1000, days))
            continue

        end = person.termination_day if person.termination_day is not None else days
        start = max(person.hire_day, -1000)
        for application_id in ("m365", "slack"):
            org.licences.append(Licence(person.index, application_id, _draw_tier(rng), start, end))
        _assign_affine(org, person, start, end, rng)


def _assign_affine(
    org: Organisation, person: Person, start: int, end: int, rng: np.random.Generator
) -> None:
    """Assign Adobe and Salesforce, planting historical and future provisioning."""
    days = org.days
    for application_id, departments in AFFINE_DEPARTMENTS.items():
        affine = person.department in departments or (
            application_id == "salesforce" and person.role == "Support Lead"
        )
        share = HOLDER_SHARE.get(person.department, 1.0) if affine else OTHER_ADOBE_SHARE
        if application_id == "salesforce" and not affine:
            share = 0.0
        holds = rng.random() < share
        future_need = rng.random() < (0.6 if affine else 0.01)

        if person.hire_day >= 0:
            # New hires get the application a few days after they join, unless the request is
            # still open at the as-of date (a planted provisioning need).
            assign = person.hire_day + int(rng.integers(0, 15))
            if not holds:
                continue
            if application_id == "salesforce" and person.department == "Finance":
                # Finance uses Salesforce only at quarter end, so a new hire requests it then.
                if person.hire_day > days - 45:
                    _add_need(org, person, application_id, rng)
                continue
            if assign >= days - 1 or (person.hire_day > days - 45 and rng.random() < 0.6):
                _add_need(org, person, application_id, rng)
                continue
            lic_start = assign
        elif not holds:
            if future_need and person.termination_day is None:
                _add_need(org, person, application_id, rng)
            continue
        elif affine and rng.random() < 0.15 and days > 60:
            # A peer-driven request during the period: assigned and used from mid-period on.
            lic_start = int(rng.integers(10, days - 40))
        else:
            lic_start = start

        tier = _draw_tier(rng)
        licence = Licence(person.index, application_id, tier, lic_start, end)
        if application_id == "salesforce" and person.department == "Finance":
            licence.is_intermittent = True
            licence.tier = "light"
        if application_id == "salesforce" and person.department == "Sales":
            licence.is_seasonal = True
        org.licences.append(licence)


def _add_need(
    org: Organisation, person: Person, application_id: str, rng: np.random.Generator
) -> None:
    needed_by = org.as_of + timedelta(days=int(rng.integers(1, 31)))
    org.provisioning.append(ProvisioningNeed(person.index, application_id, needed_by))


def _plant_inactive_and_growers(org: Organisation, rng: np.random.Generator) -> None:
    """Mark about 8% of licences inactive and about 10% of eligible ones as growers."""
    days = org.days
    for licence in org.licences:
        person = org.people[licence.person]
        plain = (
            not person.is_service_account
            and person.termination_day is None
            and not licence.is_intermittent
            and licence.start_day < 0
        )
        if plain and rng.random() < 0.08:
            lapse_room = days - 1 - INACTIVE_DAYS
            if lapse_room > 10 and rng.random() < 0.5:
                licence.last_use_day = int(rng.integers(0, lapse_room - 5))
            else:
                licence.never_used = True
            continue

        growable = (
            plain
            and licence.application_id in ("adobe_cc", "salesforce", "slack")
            and licence.tier in NEXT_TIER
            and not person.is_external
        )
        if growable and rng.random() < 0.10:
            licence.will_upgrade = True


def build_organisation(
    users: int, days: int, as_of: date, rng: np.random.Generator
) -> Organisation:
    """Build the people, licences and planted classes for `users` employees over `days` days."""
    if days < TRAILING_DAYS + 10:
        raise ValueError(
            f"days={days} is too short for the demo: use at least {TRAILING_DAYS + 10}"
        )

    org = Organisation(as_of=as_of, days=days)
    _build_employees(org, users, rng)
    _plant_dates(org, rng)
    _add_non_employees(org, users, rng)
    _assign_named(org, rng)
    _identity_quirks(org, rng)
    _plant_inactive_and_growers(org, rng)
    org.cad_seats = max(2, round(len(org.engineers()) / 2))
    return org
