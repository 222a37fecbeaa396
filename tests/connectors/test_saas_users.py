import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from licpipe.connectors import saas_users
from licpipe.connectors.base import SourceFileError
from licpipe.loading import load_source

FIXTURES = Path(__file__).parents[1] / "fixtures" / "saas"


def _head(path: Path) -> str:
    return path.read_text()[:4096]


def test_last_login_sentinels():
    path = FIXTURES / "last_login_sentinels.csv"
    parsed = saas_users.parse_file(path)
    rows = {row["email"]: row for row in parsed.tables["google_users"]}

    assert saas_users.detect(path, _head(path))
    assert rows["user1@example.com"]["last_sign_in_at"] == datetime(2024, 4, 30, 12, 0)
    assert rows["user1@example.com"]["never_logged_in"] is False
    for email in ("user2@example.com", "user3@example.com"):
        assert rows[email]["last_sign_in_at"] is None
        assert rows[email]["never_logged_in"] is True
    assert rows["user4@example.com"]["last_sign_in_at"] is None
    assert rows["user4@example.com"]["never_logged_in"] is None
    assert saas_users.SCHEMAS["google_users"]["last_sign_in_at"] == "TIMESTAMP"
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 4


def test_google_admin_download():
    parsed = saas_users.parse_file(FIXTURES / "google_users.csv")
    rows = {row["email"]: row for row in parsed.tables["google_users"]}

    ana = rows["ana.ruiz@example.com"]
    assert ana["last_sign_in_at"] == datetime(2026, 12, 14, 9, 15, 2)
    assert ana["org_unit_path"] == "/Design"
    assert ana["employee_id"] == "C-0001"
    assert ana["is_2sv_enrolled"] is True
    assert rows["ben.okafor@example.com"]["never_logged_in"] is True
    assert rows["ben.okafor@example.com"]["status"] == "Suspended"
    assert rows["cy@example.com"]["never_logged_in"] is None
    assert [reject.line_number for reject in parsed.rejects] == [5]
    assert "'yesterday'" in parsed.rejects[0].reason
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 4


def test_zoom_json_page():
    path = FIXTURES / "zoom_users.json"
    parsed = saas_users.parse_file(path)
    rows = {row["user_id"]: row for row in parsed.tables["zoom_users"]}

    assert saas_users.detect(path, _head(path))
    assert rows["z8aaa"]["last_login_at"] == datetime(2026, 12, 14, 8, 1, 2)
    assert rows["z8aaa"]["user_type"] == 2
    assert rows["z8aaa"]["license_type"] == "licensed"
    assert rows["z8aaa"]["department"] == "Design"
    assert rows["z8aaa"]["created_at"] == datetime(2024, 1, 5, 10, 0)
    assert rows["z8bbb"]["license_type"] == "basic"
    assert rows["z8bbb"]["last_login_at"] is None
    assert rows["z8bbb"]["never_logged_in"] is None
    assert rows["z8ccc"]["last_login_at"] is None
    assert rows["z8ccc"]["never_logged_in"] is True
    assert [row["_line_number"] for row in parsed.tables["zoom_users"]] == [1, 2, 3]
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 3


def test_zoom_csv_type_names():
    parsed = saas_users.parse_file(FIXTURES / "zoom_users.csv")
    rows = parsed.tables["zoom_users"]

    assert [row["user_type"] for row in rows] == [2, 1]
    assert [row["license_type"] for row in rows] == ["licensed", "basic"]
    assert "'Pro'" in parsed.rejects[0].reason
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 3


def test_atlassian_admin_site_columns():
    parsed = saas_users.parse_file(FIXTURES / "atlassian_admin_export.csv")
    access = parsed.tables["atlassian_product_access"]
    ana = [row for row in access if row["email"] == "ana.ruiz@example.com"]

    assert {(row["product"], row["site"], row["last_seen_on"]) for row in ana} == {
        ("Jira Software", "soundunited", date(2026, 12, 14)),
        ("Confluence", "soundunited", date(2026, 12, 2)),
    }
    assert all(row["never_accessed"] is False for row in ana)
    jira_eu = [row for row in access if row["site"] == "acme-eu"]
    assert [row["product"] for row in jira_eu] == ["Jira"]


def test_atlassian_mixed_case_sentinels():
    parsed = saas_users.parse_file(FIXTURES / "atlassian_admin_export.csv")
    access = parsed.tables["atlassian_product_access"]
    users = {row["email"]: row for row in parsed.tables["atlassian_users"]}
    ben = [row for row in access if row["email"] == "ben.okafor@example.com"]

    assert len(ben) == 3
    assert all(row["never_accessed"] is True for row in ben)
    assert all(row["last_seen_on"] is None for row in ben)
    assert users["ben.okafor@example.com"]["never_logged_in"] is True
    assert users["ana.ruiz@example.com"]["never_logged_in"] is False
    assert users["ana.ruiz@example.com"]["last_active_on"] == date(2026, 12, 14)
    assert users["ana.ruiz@example.com"]["added_to_org"] == date(2024, 1, 5)
    assert users["cy.old@example.com"]["never_logged_in"] is None
    assert not [row for row in access if row["email"] == "cy.old@example.com"]


def test_atlassian_admin_counts():
    parsed = saas_users.parse_file(FIXTURES / "atlassian_admin_export.csv")
    users = parsed.tables["atlassian_users"]

    assert [reject.line_number for reject in parsed.rejects] == [5]
    assert "Last seen in Jira Software - soundunited" in parsed.rejects[0].reason
    assert len(users) + len(parsed.rejects) == parsed.records_total == 4
    assert parsed.notes["product_access_rows"] == 5


def test_atlassian_site_export_groups():
    parsed = saas_users.parse_file(FIXTURES / "atlassian_site_export.csv")
    users = parsed.tables["atlassian_users"]
    access = parsed.tables["atlassian_product_access"]

    assert len(users) + len(parsed.rejects) == parsed.records_total == 4
    assert [row["group_name"] for row in users if row["username"] == "aruiz"] == [
        "jira-software-users",
        "confluence-users",
    ]
    assert users[0]["last_login_at"] == datetime(2026, 12, 14, 15, 31, 57)
    assert users[0]["is_active"] is True
    assert users[2]["never_logged_in"] is True
    assert users[3]["never_logged_in"] is None
    assert sorted((row["username"], row["product"]) for row in access) == [
        ("aruiz", "confluence"),
        ("aruiz", "jira-software"),
        ("bokafor", "jira-software"),
        ("cold", "confluence"),
    ]


def test_source_option_forces_kind(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("email,last_login_time,type\na@example.com,2026-12-01T10:00:00Z,2\n")

    assert saas_users.parse_file(path).tables["zoom_users"][0]["user_type"] == 2
    with pytest.raises(SourceFileError, match="unknown user export header"):
        saas_users.parse_file(path, source="atlassian")


def test_unknown_header_raises(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("employee_id,email,department\nE1,a@example.com,Design\n")

    assert not saas_users.detect(path, _head(path))
    with pytest.raises(SourceFileError, match="unknown user export header"):
        saas_users.parse_file(path)


def test_duckdb_load_atlassian_tables(tmp_path):
    landing = tmp_path / "landing"
    (landing / "atlassian").mkdir(parents=True)
    shutil.copy(FIXTURES / "atlassian_admin_export.csv", landing / "atlassian" / "users.csv")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))

    load_source(con, "atlassian", landing)
    per_table = dict(con.sql("select table_name, rows_landed from raw.loaded_tables").fetchall())
    never = con.execute(
        "select count(*) from raw.atlassian_product_access where never_accessed"
    ).fetchall()

    assert per_table == {"atlassian_users": 3, "atlassian_product_access": 5}
    assert never == [(3,)]
