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
    """One row per SKU at the as-of date: owned, assigned, active, utilisation and idle cost.

    Named and device SKUs count people active in the window. Concurrent SKUs count the peak of
    seats checked out at once (fct_concurrency), because a floating seat serves many people.
    """
    with warehouse.connect() as con:
        as_of = read_as_of(con)
        kpis = con.execute(
            f"""
            with positions as (
                select * from {MARTS}.fct_license_positions where position_date = ?
            ),
            skus as (select * from {MARTS}.dim_skus),
            peaks as (
                select
                    feature,
                    max(peak_concurrent_seats) filter (
                        where hour_start >= cast(? as date) - interval 29 day
                    ) as peak_concurrent_30d,
                    max(peak_concurrent_seats) filter (
                        where hour_start >= cast(? as date) - interval 89 day
                    ) as peak_concurrent_90d,
                from {MARTS}.fct_concurrency
                where hour_start < cast(? as date) + interval 1 day
                group by feature
            ),
            joined as (
                select
                    positions.*,
                    skus.license_model,
                    skus.monthly_unit_price,
                    skus.currency,
                    peaks.peak_concurrent_30d,
                    peaks.peak_concurrent_90d,
                    case
                        when skus.license_model = 'concurrent'
                            then coalesce(peaks.peak_concurrent_30d, 0)
                        else positions.active_30d
                    end as in_use_30d,
                    case
                        when skus.license_model = 'concurrent'
                            then coalesce(peaks.peak_concurrent_90d, 0)
                        else positions.active_90d
                    end as in_use_90d,
                from positions
                left join skus on positions.sku = skus.sku
                left join peaks
                    on skus.license_model = 'concurrent' and skus.feature = peaks.feature
            )
            select
                sku,
                application_id,
                license_model,
                seats_owned,
                seats_assigned,
                active_30d,
                active_90d,
                peak_concurrent_30d,
                peak_concurrent_90d,
                installed,
                round(in_use_30d / nullif(seats_owned, 0), 4) as utilisation_30d,
                greatest(seats_owned - in_use_90d, 0) * monthly_unit_price
                    as idle_monthly_cost,
                currency,
            from joined
            -- Catalog SKUs the organisation neither owns, assigns nor installs are left out.
            where coalesce(seats_owned, 0) > 0
                or coalesce(seats_assigned, 0) > 0
                or coalesce(installed, 0) > 0
            order by sku
            """,
            [as_of, as_of, as_of, as_of],
        ).df()
        replace_table(con, ANALYTICS, "license_kpis", kpis, {"idle_monthly_cost": MONEY_TYPE})
    context.log.info("Licence KPIs for %d SKUs as of %s", len(kpis), as_of)
    return _result("license_kpis", kpis, as_of=str(as_of))


recommendation_assets = [recommendations, savings_summary, license_kpis]
__all__ = ["recommendation_assets", "pd"]
