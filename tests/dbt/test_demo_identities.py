"""Identity resolution on the demo organisation, checked against the people it plants.

The demo writes some Adobe e-mails in capitals or with a trailing space and some FlexLM logins
in capitals, and Salesforce usernames extend the e-mail with a suffix, so every planted person
must still come out as exactly one user_key.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from licpipe.demo.generator import generate
from licpipe.loading import load_source
from tests.dbt.raw_fixture import run_dbt

DEMO_USERS = 200
DEMO_DAYS = 180


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """Generate the demo exports, load them with the licpipe loader and build the project once.

    Returns the demo folder, which contains warehouse.duckdb and truth/people.csv.
    """
    out = tmp_path_factory.mktemp("demo_identities")
    generate(out, users=DEMO_USERS, days=DEMO_DAYS)

    landing = out / "landing"
    warehouse = out / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for source_dir in sorted(path for path in landing.iterdir() if path.is_dir()):
            summary = load_source(con, source_dir.name, landing)
            assert summary.failures == [], f"{source_dir.name}: {summary.failures}"

    result = run_dbt(warehouse, "build")
    assert result.returncode == 0, result.stdout[-4000:]
    return out


def planted_people(demo: Path) -> list[dict[str, str]]:
    with (demo / "truth" / "people.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def query(demo: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(demo / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def planted_owner(people: list[dict[str, str]], source: str, raw_identity: str) -> str | None:
    """Return the planted e-mail owning a raw identity, or None, by rules independent of dbt's.

    An e-mail matches after lower-casing and trimming, a FlexLM login matches the planted OS
    username, and a Salesforce username is the e-mail plus a dot suffix.
    """
    value = raw_identity.strip().lower()
    for person in people:
        email = person["user_email"].strip().lower()
        if value == email:
            return email
        if source == "flexlm" and person["username"] and value == person["username"].lower():
            return email
        if source == "salesforce" and value.startswith(email + "."):
            return email
    return None


def test_one_key_per_planted_person(demo):
    planted = {person["user_email"].strip().lower() for person in planted_people(demo)}
    keys = [row[0] for row in query(demo, "select user_key from main_marts.dim_users")]

    assert len(keys) == len(planted)
    assert set(keys) == planted


def test_external_accounts_reported_apart(demo):
    people = planted_people(demo)
    planted = {p["user_email"].strip().lower() for p in people if p["is_external"] == "true"}
    flagged = {
        row[0] for row in query(demo, "select user_key from main_marts.dim_users where is_external")
    }
    internal = query(demo, "select count(*) from main_marts.dim_users where not is_external")

    assert planted
    assert flagged == planted
    assert internal == [(len(people) - len(planted),)]


def test_service_accounts_flagged(demo):
    people = planted_people(demo)
    planted = {p["user_email"].strip().lower() for p in people if p["is_service_account"] == "true"}
    flagged = {
        row[0]
        for row in query(demo, "select user_key from main_marts.dim_users where is_service_account")
    }

    assert planted
    assert flagged == planted


def test_every_sighting_is_its_owner(demo):
    people = planted_people(demo)
    identities = query(
        demo, "select source, raw_identity, user_key from main_intermediate.int_identities"
    )
    unknown = []
    split = []
    for source, raw_identity, user_key in identities:
        owner = planted_owner(people, source, raw_identity)
        if owner is None:
            unknown.append((source, raw_identity))
        elif user_key != owner:
            split.append((source, raw_identity, user_key, owner))

    assert identities
    assert unknown == []
    assert split == []


def test_variant_spellings_are_exercised(demo):
    variants = dict(
        query(
            demo,
            "select source, count(*) from main_intermediate.int_identities "
            "where raw_identity <> user_key group by source",
        )
    )

    # Without these the split check above would pass on clean data alone.
    assert variants.get("adobe", 0) > 0
    assert variants.get("flexlm", 0) > 0
    assert variants.get("salesforce", 0) > 0


def test_no_unmatched_identities(demo):
    unmatched = query(
        demo,
        "select source, raw_identity, rows from main_intermediate.int_unmatched_identities",
    )
    assert unmatched == []
