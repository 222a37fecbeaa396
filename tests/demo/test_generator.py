"""The demo generator: determinism, export formats and the planted ground truth."""

import csv
import json
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from licpipe.demo import generate

AS_OF = date(2026, 12, 15)
USERS, DAYS = 150, 120
PUBLISHED = {"Microsoft 365", "Adobe Creative Cloud", "Salesforce Sales Cloud", "Slack", "AcmeCAD"}
HEADERS = {
    "hr/hr_directory.csv": "employee_id,email,username,first_name,last_name,department,role,"
    "manager_email,location,cost_center,fte,hire_date,termination_date,status",
    "entitlements/entitlements.csv": "vendor,application,sku,license_model,feature,seats,"
    "unit_price,price_period,currency,term_start,term_end,renewal_date,quote_unit_price,"
    "min_commitment_seats,reassignment_limit_days,notes",
    "salesforce/LoginHistory.csv": "Username,Login Time,Source IP,Location,Login Type,Status,"
    "Application,Browser,Platform,Login URL",
    "salesforce/User.csv": "Id,Username,Email,Name,IsActive,UserLicense,Profile,LastLoginDate",
    "slack/members.csv": "username,email,status,billing-active,has-2fa,has-sso,userid,fullname,"
    "displayname",
    "okta/users.csv": "id,login,email,status,created,activated,statusChanged,lastLogin",
    "adobe/adobe_users.csv": "Identity Type,Username,Domain,Email,First Name,Last Name,"
    "Country Code,Product Configurations,Admin Roles,Product Configurations Administered,"
    "User Groups,User Groups Administered,Products Administered,Developer Access",
    "installs/AppInvRawData.csv": "ApplicationKey,ApplicationName,ApplicationPublisher,"
    "ApplicationShortVersion,ApplicationVersion,DeviceId,DeviceName,OSDescription,OSVersion,"
    "Platform,UserId,EmailAddress,UserName",
    "m365/Office365ActiveUserCounts_D180.csv": "Report Refresh Date,Office 365,Exchange,OneDrive,"
    "SharePoint,Skype For Business,Yammer,Teams,Report Date,Report Period",
}
M365_HEADER = (
    "Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,"
    "Has Exchange License,Has OneDrive License,Has SharePoint License,"
    "Has Skype For Business License,Has Yammer License,Has Teams License,"
    "Exchange Last Activity Date,OneDrive Last Activity Date,SharePoint Last Activity Date,"
    "Skype For Business Last Activity Date,Yammer Last Activity Date,Teams Last Activity Date,"
    "Exchange License Assign Date,OneDrive License Assign Date,SharePoint License Assign Date,"
    "Skype For Business License Assign Date,Yammer License Assign Date,"
    "Teams License Assign Date,Assigned Products"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate(out, users=USERS, days=DAYS, seed=11, as_of=AS_OF)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _truth(demo_dir: Path, name: str) -> list[dict[str, str]]:
    return _rows(demo_dir / "truth" / name)


def _slack_files(landing: Path) -> dict[date, Path]:
    files = {}
    for path in (landing / "slack").glob("Acme Member Analytics *.csv"):
        end = path.stem.split(" - ")[1]
        files[datetime.strptime(end, "%b %d, %Y").date()] = path
    return files


def test_generation_deterministic(demo, tmp_path: Path) -> None:
    first, _ = demo
    generate(tmp_path, users=USERS, days=DAYS, seed=11, as_of=AS_OF)
    first_files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    second_files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert first_files == second_files
    for relative in first_files:
        assert (first / relative).read_bytes() == (tmp_path / relative).read_bytes(), relative


def test_other_seed_differs(demo, tmp_path: Path) -> None:
    first, _ = demo
    generate(tmp_path, users=USERS, days=DAYS, seed=12, as_of=AS_OF)
    name = "hr/hr_directory.csv"
    assert (first / "landing" / name).read_bytes() != (tmp_path / "landing" / name).read_bytes()


def test_every_landing_source_written(demo) -> None:
    out, _ = demo
    landing = out / "landing"
    for source in (
        "m365",
        "flexlm",
        "salesforce",
        "slack",
        "adobe",
        "okta",
        "installs",
        "hr",
        "entitlements",
    ):
        assert any((landing / source).iterdir()), source
    assert len(list((landing / "m365").glob("Office365ActiveUserDetail_*.csv"))) == DAYS
    assert len(_slack_files(landing)) == DAYS
    assert (landing / "flexlm" / "lmstat_a_20261215.txt").exists()
    assert (landing / "flexlm" / "lmstat_i.txt").exists()


def test_csv_headers_exact(demo) -> None:
    out, _ = demo
    landing = out / "landing"
    for name, header in HEADERS.items():
        with (landing / name).open(encoding="utf-8-sig", newline="") as handle:
            assert next(csv.reader(handle)) == header.split(","), name


def test_m365_daily_files(demo) -> None:
    out, _ = demo
    path = out / "landing" / "m365" / f"Office365ActiveUserDetail_{AS_OF}.csv"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfReport Refresh Date,")
    assert raw.splitlines()[0].decode("utf-8-sig") == M365_HEADER
    rows = _rows(path)
    assert {row["Report Refresh Date"] for row in rows} == {AS_OF.isoformat()}
    assert {row["Assigned Products"] for row in rows} == {"MICROSOFT 365 E3"}
    emails = {row["User Principal Name"] for row in rows}
    assert "svc-backup@acme.example" in emails
    assert "svc-scanner@acme.example" in emails


def test_every_file_parses(demo) -> None:
    out, _ = demo
    widths = Counter()
    for path in (out / "landing").rglob("*.csv"):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows, path
        assert all(len(row) == len(rows[0]) for row in rows), path
        widths[path.parent.name] += len(rows)
    assert widths["m365"] > DAYS * USERS
    events = 0
    for path in (out / "landing" / "okta").glob("*.ndjson"):
        for line in path.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            assert event["eventType"] in ("user.session.start", "user.authentication.sso")
            events += 1
    assert events > 100


def test_okta_duplicates_and_disorder(demo) -> None:
    out, _ = demo
    seen = Counter()
    unsorted_files = 0
    for path in sorted((out / "landing" / "okta").glob("*.ndjson")):
        events = [json.loads(line) for line in path.read_text().splitlines()]
        seen.update(event["uuid"] for event in events)
        published = [event["published"] for event in events]
        unsorted_files += published != sorted(published)
    assert any(count > 1 for count in seen.values())
    assert unsorted_files > 0


def test_manifest_counts_match_truth(demo) -> None:
    out, manifest = demo
    assert json.loads((out / "truth" / "manifest.json").read_text()) == manifest
    counts = manifest["counts"]
    licences = _truth(out, "licenses.csv")
    people = _truth(out, "people.csv")
    assert counts["inactive_licenses"] == sum(r["is_inactive"] == "true" for r in licences)
    assert counts["terminated_licenses"] == sum(r["is_terminated"] == "true" for r in licences)
    assert counts["intermittent_licenses"] == sum(r["is_intermittent"] == "true" for r in licences)
    assert counts["will_upgrade"] == sum(r["will_upgrade"] == "true" for r in licences)
    assert counts["licenses"] == dict(Counter(r["application"] for r in licences))
    assert counts["provisioning_needs"] == len(_truth(out, "provisioning.csv"))
    assert counts["people"] == len(people)
    assert counts["service_accounts"] == 2
    assert counts["external_guests"] == sum(p["is_external"] == "true" for p in people)
    assert counts["terminated_employees"] == sum(p["status"] == "terminated" for p in people)
    assert counts["anomalies"] == 2
    assert counts["compliance_gaps"] == 2


def test_truth_application_names_published(demo) -> None:
    out, _ = demo
    for name in ("licenses.csv", "provisioning.csv", "anomalies.csv", "compliance.csv"):
        for row in _truth(out, name):
            assert row["application"] in PUBLISHED, (name, row["application"])


def test_class_shares_planted(demo) -> None:
    out, manifest = demo
    licences = _truth(out, "licenses.csv")
    inactive = sum(r["is_inactive"] == "true" for r in licences) / len(licences)
    assert 0.04 <= inactive <= 0.12
    assert manifest["counts"]["terminated_employees"] >= 1
    assert manifest["counts"]["will_upgrade"] >= 3
    assert manifest["counts"]["provisioning_needs"] >= 2
    tiers = Counter(r["tier"] for r in licences)
    assert set(tiers) == {"power", "regular", "light", "non-user"}


def test_terminated_still_licensed(demo) -> None:
    out, _ = demo
    landing = out / "landing"
    hr = {row["email"]: row for row in _rows(landing / "hr" / "hr_directory.csv")}
    okta = {row["email"]: row["status"] for row in _rows(landing / "okta" / "users.csv")}
    last_m365 = {
        row["User Principal Name"]
        for row in _rows(landing / "m365" / f"Office365ActiveUserDetail_{AS_OF}.csv")
    }
    slack = {row["email"] for row in _rows(landing / "slack" / "members.csv")}
    terminated = [row for row in hr.values() if row["status"] == "terminated"]
    assert terminated
    for row in terminated:
        gap = (AS_OF - date.fromisoformat(row["termination_date"])).days
        assert 5 <= gap <= 45
        assert okta[row["email"]] == "DEPROVISIONED"
        assert row["email"] in last_m365
        assert row["email"] in slack


def test_inactive_last_activity_old(demo) -> None:
    out, _ = demo
    rows = _rows(out / "landing" / "m365" / f"Office365ActiveUserDetail_{AS_OF}.csv")
    by_email = {row["User Principal Name"]: row for row in rows}
    inactive = [
        r["user_email"]
        for r in _truth(out, "licenses.csv")
        if r["application"] == "Microsoft 365" and r["is_inactive"] == "true"
    ]
    assert inactive
    for email in inactive:
        dates = [v for k, v in by_email[email].items() if k.endswith("Last Activity Date") and v]
        assert all((AS_OF - date.fromisoformat(d)).days >= 100 for d in dates), email


def test_intermittent_last_use_quarter_end(demo) -> None:
    out, _ = demo
    usernames = {
        f"{r['user_email']}.acme"
        for r in _truth(out, "licenses.csv")
        if r["is_intermittent"] == "true"
    }
    assert usernames
    last: dict[str, date] = {}
    for row in _rows(out / "landing" / "salesforce" / "LoginHistory.csv"):
        if row["Username"] in usernames and row["Status"] == "Success":
            day = datetime.strptime(row["Login Time"], "%m/%d/%Y %I:%M %p").date()
            last[row["Username"]] = max(last.get(row["Username"], day), day)
    assert last
    for day in last.values():
        assert date(2026, 9, 21) <= day <= date(2026, 10, 2)


def test_slack_anomaly_days_stand_out(demo) -> None:
    out, _ = demo
    files = _slack_files(out / "landing")
    active = {
        day: sum(row["Days active"] == "1" for row in _rows(path)) for day, path in files.items()
    }
    weekday_counts = [n for day, n in active.items() if day.weekday() < 5]
    median = float(np.median(weekday_counts))
    for row in _truth(out, "anomalies.csv"):
        observed = active[date.fromisoformat(row["observed_on"])]
        if row["kind"] == "spike":
            assert observed > 1.5 * median
        else:
            assert observed < 0.5 * median


def test_slack_tiers_recoverable(demo) -> None:
    """KMeans on trailing 90-day active days read back from the Slack files recovers tiers."""
    out, _ = demo
    files = _slack_files(out / "landing")
    window = [AS_OF - timedelta(days=n) for n in range(90)]
    active_days = defaultdict(int)
    for day in window:
        for row in _rows(files[day]):
            active_days[row["Email"]] += int(row["Days active"])
    truth = {
        r["user_email"]: r["tier"]
        for r in _truth(out, "licenses.csv")
        if r["application"] == "Slack" and r["tier"] != "non-user" and r["is_terminated"] == "false"
    }
    emails = sorted(truth)
    features = np.array([[active_days[email]] for email in emails], dtype=float)
    labels = KMeans(n_clusters=3, n_init=10, random_state=0).fit_predict(features)
    assert adjusted_rand_score([truth[e] for e in emails], labels) > 0.7


def test_flexlm_log_format(demo) -> None:
    out, _ = demo
    raw = (out / "landing" / "flexlm" / "acmed_debug.log").read_bytes()
    lines = raw.decode("utf-8").split("\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert "started on licsrv01 (linux) (" in lines[1]
    assert any(" (lmgrd) TIMESTAMP " in line for line in lines)
    outs = [line for line in lines if ' OUT: "CAD_PRO" ' in line]
    assert outs
    assert all(line.endswith("  ") for line in outs)
    assert any(line.startswith(" ") for line in outs)
    assert any("(-4,342))" in line for line in lines if "DENIED:" in line)
    assert any(line.endswith("(INACTIVE)") for line in lines)
    assert sum("(lmgrd) FlexNet Licensing (" in line for line in lines) == 2
    logins = {line.split('" ')[1].split("@")[0] for line in outs}
    assert any(login.isupper() for login in logins)


def test_lmstat_matches_open_sessions(demo) -> None:
    out, manifest = demo
    text = (out / "landing" / "flexlm" / "lmstat_a_20261215.txt").read_text()
    header = next(line for line in text.splitlines() if line.startswith("Users of CAD_PRO"))
    in_use = int(header.split("Total of ")[2].split()[0])
    issued = int(header.split("Total of ")[1].split()[0])
    user_lines = [line for line in text.splitlines() if "(licsrv01/27001 " in line]
    assert issued == manifest["counts"]["cad_seats"]
    assert len(user_lines) == in_use
    assert in_use <= issued


def test_compliance_gaps_consistent(demo) -> None:
    out, _ = demo
    landing = out / "landing"
    gaps = {row["kind"]: row for row in _truth(out, "compliance.csv")}
    adobe = gaps["over_assigned"]
    assigned = [
        r for r in _rows(landing / "adobe" / "adobe_users.csv") if r["Product Configurations"]
    ]
    bought = next(
        r
        for r in _rows(landing / "entitlements" / "entitlements.csv")
        if r["application"] == "Adobe Creative Cloud"
    )
    assert int(adobe["seats_used"]) == len(assigned)
    assert int(adobe["seats_owned"]) == int(bought["seats"])
    assert int(adobe["seats_used"]) > int(adobe["seats_owned"])
    cad = gaps["over_installed"]
    installs = [
        r
        for r in _rows(landing / "installs" / "AppInvRawData.csv")
        if r["ApplicationName"].startswith("AcmeCAD")
    ]
    assert int(cad["seats_used"]) == len(installs)
    assert int(cad["seats_used"]) > int(cad["seats_owned"])


def test_provisioning_needs_not_held(demo) -> None:
    out, _ = demo
    held = {(r["user_email"], r["application"]) for r in _truth(out, "licenses.csv")}
    for row in _truth(out, "provisioning.csv"):
        assert (row["user_email"], row["application"]) not in held
        gap = (date.fromisoformat(row["needed_by"]) - AS_OF).days
        assert 1 <= gap <= 30


def test_refuses_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "keep.csv").write_text("x\n")
    with pytest.raises(FileExistsError, match="choose an empty output folder"):
        generate(tmp_path, users=60, days=100)


@pytest.mark.slow
def test_default_size_fast(tmp_path: Path) -> None:
    started = time.perf_counter()
    manifest = generate(tmp_path)
    assert time.perf_counter() - started < 30
    assert manifest["counts"]["engineers"] == 40
    assert manifest["counts"]["cad_seats"] == 20
