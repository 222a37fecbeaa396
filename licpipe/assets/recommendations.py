"""Recommendation assets: priced actions, the savings they add up to, and licence KPIs."""

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from licpipe.assets.ml import (
    ANALYTICS,
    MARTS,
    _result,
    demand_forecasts,
    mart,
    provisioning_predictions,
    read_as_of,
    reclaim_candidates,
    upgrade_predictions,
    usage_tiers,
)
from licpipe.recommend.pricing import MONEY_TYPE
from licpipe.resources import PipelineOptions, WarehouseResource
from licpipe.warehouse import read_frame, replace_table

MONEY_COLUMNS = {"monthly_saving": MONEY_TYPE, "annual_saving": MONEY_TYPE}


@asset(
    deps=[
        reclaim_candidates,
        usage_tiers,
        upgrade_predictions,
        provisioning_predictions,
        demand_forecasts,
        mart("dim_skus"),
        mart("fct_license_positions"),
        mart("fct_concurrency"),
        mart("dim_users"),
        ["raw", "decisions"],
    ],
    group_name="recommendations",
    pool="duckdb_writer",
    kinds={"python", "duckdb"},
)
def recommendations(
    context: AssetExecutionContext, warehouse: WarehouseResource, options: PipelineOptions
) -> MaterializeResult:
    """One row per recommended action, with its saving, reason and evidence."""
    from licpipe.recommend.recommendations import build_recommendations

    with warehouse.connect() as con:
        as_of = read_as_of(con)
        frames = {
            "reclaim": read_frame(con, ANALYTICS, "reclaim_candidates"),
            "tiers": read_frame(con, ANALYTICS, "usage_tiers"),
            "upgrades": read_frame(con, ANALYTICS, "upgrade_predictions"),
            "provisioning": read_frame(con, ANALYTICS, "provisioning_predictions"),
            "forecasts": read_frame(con, ANALYTICS, "demand_forecasts"),
            "skus": read_frame(con, MARTS, "dim_skus"),
            "positions": read_frame(con, MARTS, "fct_license_positions"),
            "concurrency": read_frame(con, MARTS, "fct_concurrency"),
            "decisions": read_frame(con, "raw", "decisions"),
            "users": read_frame(con, MARTS, "dim_users"),
        }
        assignments = read_frame(con, MARTS, "fct_license_assignments")
        usage = read_frame(con, MARTS, "fct_daily_usage")
        previous = read_frame(con, ANALYTICS, "recommendations")
        recs = build_recommendations(
            **frames,
            as_of=as_of,
            renewal_buffer=options.renewal_buffer,
            assignments=assignments,
            daily_usage=usage,
            previous_recommendations=previous if not previous.empty else None,
        )
        replace_table(con, ANALYTICS, "recommendations", recs, MONEY_COLUMNS)
    open_recs = recs[recs["status"] == "open"] if not recs.empty else recs
    by_action = open_recs["action"].value_counts().to_dict() if not open_recs.empty else {}
    context.log.info("Recommendations by action: %s", by_action)
    return _result(
        "recommendations",
        recs,
        by_action=MetadataValue.json(by_action),
        suppressed=int((recs["status"] == "suppressed").sum()) if not recs.empty else 0,
    )


@asset(deps=[recommendations], group_name="recommendations", pool="duckdb_writer")
def savings_summary(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per application, SKU and action, plus a total per currency."""
    from licpipe.recommend.savings import summarise_savings

    with warehouse.connect() as con:
        recs = read_frame(con, ANALYTICS, "recommendations")
        summary = summarise_savings(recs)
        replace_table(con, ANALYTICS, "savings_summary", summary, MONEY_COLUMNS)
    totals = summary[summary["row_type"] == "total"] if "row_type" in summary.columns else summary
    context.log.info("Savings totals: %s", totals.to_dict("records"))
    return _result("savings_summary", summary)


@asset(
    deps=[recommendations, mart("fct_license_positions"), mart("dim_skus"), mart("as_of_date")],
    group_name="recommendations",
    pool="duckdb_writer",
)
def license_kpis(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """One row per SKU at the as-of date: owned, assigned, active, utilisation and idle cost."""
    with warehouse.connect() as con:
        as_of = read_as_of(con)
        kpis = con.execute(
            f"""
            with positions as (
                select * from {MARTS}.fct_license_positions where position_date = ?
            ),
            skus as (select * from {MARTS}.dim_skus)
            select
                positions.sku,
                positions.application_id,
                skus.license_model,
                positions.seats_owned,
                positions.seats_assigned,
                positions.active_30d,
                positions.active_90d,
                positions.installed,
                round(positions.active_30d / nullif(positions.seats_owned, 0), 4)
                    as utilisation_30d,
                greatest(positions.seats_owned - positions.active_90d, 0)
                    * skus.monthly_unit_price as idle_monthly_cost,
                skus.currency
            from positions
            left join skus on positions.sku = skus.sku
            order by positions.sku
            """,
            [as_of],
        ).df()
        replace_table(con, ANALYTICS, "license_kpis", kpis, {"idle_monthly_cost": MONEY_TYPE})
    context.log.info("Licence KPIs for %d SKUs as of %s", len(kpis), as_of)
    return _result("license_kpis", kpis, as_of=str(as_of))


recommendation_assets = [recommendations, savings_summary, license_kpis]
__all__ = ["recommendation_assets", "pd"]
