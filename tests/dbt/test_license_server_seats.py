"""Seats owned from the license server's own counts, on lmstat output loaded by the real loader.

The `lmstat -i` fixture lists CAD_PRO with 8 permanent seats and 2 that expire on 30 April
2025, and no purchase line buys CAD_PRO. AutoCAD has a purchase line of 10 seats while its
license server issues 12. The `lmstat -a` fixture shows "CAD PRO" with 5 seats checked out,
2 reserved and 10 issued.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from licpipe.loading import load_source
from tests.dbt.raw_fixture import run_dbt

FLEXLM_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "flexlm"
# Use of CAD_PRO from 29 April to 2 May 2025, so positions cover the expiry.
DEBUG_LOG = """\
 9:00:00 (lmgrd) TIMESTAMP 4/29/2025
 9:00:05 (acmed) OUT: "CAD_PRO" jdoe@ws-001
17:00:00 (acmed) IN: "CAD_PRO" jdoe@ws-001
 9:00:00 (lmgrd) TIMESTAMP 5/2/2025
 9:00:05 (acmed) OUT: "CAD_PRO" jdoe@ws-001
10:00:00 (acmed) IN: "CAD_PRO" jdoe@ws-001
"""
AUTOCAD_LISTING = """\
Feature          Version     #licenses    Expires                         Vendor
_______          _________   _________    ________                        ______
64300ACD_F       2025.0       12          permanent(no expiration date)   adskflex
"""
HR = "employee_id,email,username,department,status\nE1,jane.doe@example.com,jdoe,Design,active\n"
ENTITLEMENTS = (
    "vendor,application,sku,license_model,feature,seats,unit_price,price_period,currency,"
    "term_start,term_end,renewal_date\n"
    "Autodesk,AutoCAD,AutoCAD,concurrent,64300ACD_F,10,2100.00,year,EUR,"
    "2025-01-01,2025-12-31,2026-01-01\n"
)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("server_seats")
    landing = root / "landing"
    flexlm = landing / "flexlm"
    flexlm.mkdir(parents=True)
    for name in ("lmstat_i_expires_then_vendor.txt", "lmstat_a_reservations_queued.txt"):
        shutil.copy(FLEXLM_FIXTURES / name, flexlm / name)
    (flexlm / "lmstat_i_autocad.txt").write_text(AUTOCAD_LISTING)
    (flexlm / "acmed_debug.log").write_text(DEBUG_LOG)
    (landing / "hr").mkdir()
    (landing / "hr" / "hr_directory.csv").write_text(HR)
    (landing / "entitlements").mkdir()
    (landing / "entitlements" / "entitlements.csv").write_text(ENTITLEMENTS)
    path = root / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        for source in ("flexlm", "hr", "entitlements"):
            assert not load_source(con, source, landing).failures

    result = run_dbt(path, "build")
    assert result.returncode == 0, result.stdout[-4000:]
    return path


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_server_listing_owns_until_expiry(warehouse):
    positions = query(
        warehouse,
        "select position_date, seats_owned, seats_owned_source, server_seats_issued "
        "from main_marts.fct_license_positions where sku = 'CAD_PRO' "
        "and position_date in ('2025-04-30', '2025-05-01') order by position_date",
    )

    assert positions == [
        (date(2025, 4, 30), 10, "license_server", 10),
        (date(2025, 5, 1), 8, "license_server", 8),
    ]


def test_purchase_lines_beside_server(warehouse):
    positions = query(
        warehouse,
        "select distinct seats_owned, seats_owned_source, server_seats_issued "
        "from main_marts.fct_license_positions where sku = 'AutoCAD'",
    )

    assert positions == [(10, "entitlements", 12)]


def test_sku_owns_server_seats_at_as_of(warehouse):
    skus = query(
        warehouse,
        "select sku, seats_owned, seats_owned_source, server_seats_issued "
        "from main_marts.dim_skus where sku in ('CAD_PRO', 'AutoCAD') order by sku",
    )

    assert skus == [("AutoCAD", 10, "entitlements", 12), ("CAD_PRO", 8, "license_server", 8)]


def test_reservations_not_in_use(warehouse):
    """5 checked out, 2 reserved and 10 issued read as 5 of 10 seats in use."""
    [(peak, in_use, reserved, issued)] = query(
        warehouse,
        "select peak_concurrent_seats, snapshot_seats_in_use, snapshot_seats_reserved, "
        "snapshot_seats_issued from main_marts.fct_concurrency where feature = 'CAD PRO'",
    )

    assert peak == 5
    assert in_use == 5
    assert reserved == 2
    assert issued == 10
