"""License KPIs: concurrent SKUs measured by peak checkouts, unused catalog SKUs left out."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
from dagster import build_asset_context

from licpipe.assets.recommendations import license_kpis
from licpipe.resources import WarehouseResource

AS_OF = date(2026, 12, 15)


def _warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema main_marts")
    con.execute(
        "create table main_marts.as_of_date as select date '2026-12-15' as as_of_date, "
        "date '2026-12-15' as latest_data_on"
    )
    con.execute(
        """
        create table main_marts.fct_license_positions as
        select * from (values
            ('CAD_PRO', 'cad', date '2026-12-15', 10, 0, 40, 45, 12),
            ('E3', 'm365', date '2026-12-15', 100, 90, 80, 85, 0),
            ('VISIO', 'visio', date '2026-12-15', 0, 0, 0, 0, 0)
        ) as t(sku, application_id, position_date, seats_owned, seats_assigned,
               active_30d, active_90d, installed)
        """
    )
    con.execute(
        """
        create table main_marts.dim_skus as
        select * from (values
            ('CAD_PRO', 'concurrent', 'CAD_PRO', 100.0, 'EUR'),
            ('E3', 'named', null, 30.0, 'EUR'),
            ('VISIO', 'named', null, 10.0, 'EUR')
        ) as t(sku, license_model, feature, monthly_unit_price, currency)
        """
    )
    con.execute(
        "create table main_marts.fct_concurrency "
        "(feature varchar, hour_start timestamp, peak_concurrent_seats integer)"
    )
    con.executemany(
        "insert into main_marts.fct_concurrency values (?, ?, ?)",
        [
            ("CAD_PRO", datetime(2026, 12, 10, 9), 6),
            ("CAD_PRO", datetime(2026, 10, 1, 9), 8),
            ("CAD_PRO", datetime(2026, 5, 1, 9), 10),
        ],
    )
    con.close()


def test_concurrent_utilisation_from_peak(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    _warehouse(path)

    license_kpis(build_asset_context(), WarehouseResource(path=str(path)))

    con = duckdb.connect(str(path), read_only=True)
    rows = con.execute(
        "select sku, peak_concurrent_30d, peak_concurrent_90d, utilisation_30d, "
        "idle_monthly_cost from analytics.license_kpis order by sku"
    ).fetchall()
    con.close()
    by_sku = {row[0]: row[1:] for row in rows}

    assert set(by_sku) == {"CAD_PRO", "E3"}
    assert by_sku["CAD_PRO"][:3] == (6, 8, 0.6)
    assert float(by_sku["CAD_PRO"][3]) == 200.0
    assert by_sku["E3"][2] == 0.8
    assert float(by_sku["E3"][3]) == 450.0
