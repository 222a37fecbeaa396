-- One row per catalogued FlexLM SKU and date from which the license server's
-- count of issued seats applies, until the SKU's next row. The `lmstat -i`
-- listing (seats per feature with expiry dates) wins over the `lmstat -a`
-- totals ("Total of N licenses issued") for a SKU that has both.

with

listing_lines as (

    select * from {{ ref('stg_flexlm__lmstat_entitlements') }}

),

status_totals as (

    select * from {{ ref('stg_flexlm__lmstat_features') }}

),

flexlm_features as (

    select * from {{ ref('int_flexlm_features') }}

),

latest_listing as (

    -- A listing is the server's whole licence file, so only the most recently
    -- loaded file that lists a feature counts. NOTE: `lmstat -i` names no
    -- server, so listings of two servers with the same daemon and feature
    -- replace each other instead of adding up.
    select
        flexlm_features.sku,
        listing_lines.seats,
        listing_lines.expires_on,
    from listing_lines
    inner join flexlm_features
        on coalesce(listing_lines.daemon, '') = flexlm_features.daemon
        and listing_lines.feature = flexlm_features.feature
    where flexlm_features.sku is not null
        and listing_lines.seats is not null
    qualify dense_rank() over (
        partition by
            coalesce(listing_lines.server, ''),
            listing_lines.daemon,
            listing_lines.feature
        order by listing_lines._loaded_at desc, listing_lines._source_file desc
    ) = 1

),

listing_changes as (

    -- A listing applies from any date until its first expiry, then changes the
    -- day after each expiry date. Permanent lines have no expiry date.
    select sku, cast('-infinity' as date) as effective_on,
    from latest_listing

    union

    select sku, expires_on + 1 as effective_on,
    from latest_listing
    where expires_on is not null

),

listed as (

    select
        listing_changes.sku,
        listing_changes.effective_on,
        cast(
            coalesce(
                sum(latest_listing.seats) filter (
                    where latest_listing.expires_on is null
                    or latest_listing.expires_on >= listing_changes.effective_on
                ),
                0
            ) as integer
        ) as seats_issued,
        'lmstat -i' as figure_source,
    from listing_changes
    inner join latest_listing
        on listing_changes.sku = latest_listing.sku
    group by listing_changes.sku, listing_changes.effective_on

),

daily_totals as (

    -- The last snapshot of each day gives that day's issued seats per server
    -- and feature. Uncounted (node-locked) features issue no seats.
    select
        flexlm_features.sku,
        coalesce(status_totals.server, '') as server,
        coalesce(status_totals.daemon, '') as daemon,
        status_totals.feature,
        cast(status_totals.snapshot_at as date) as snapshot_on,
        arg_max(status_totals.licenses_issued, status_totals.snapshot_at)
            as licenses_issued,
    from status_totals
    inner join flexlm_features
        on coalesce(status_totals.daemon, '') = flexlm_features.daemon
        and status_totals.feature = flexlm_features.feature
    where flexlm_features.sku is not null
        and status_totals.licenses_issued is not null
        and status_totals.snapshot_at is not null
        and not coalesce(status_totals.is_uncounted, false)
    group by all

),

reported_features as (

    -- On each snapshot day of a SKU, every feature of it counts with its
    -- latest snapshot up to that day.
    select
        changes.sku,
        changes.effective_on,
        daily_totals.licenses_issued,
    from (select distinct sku, snapshot_on as effective_on from daily_totals)
        as changes
    inner join daily_totals
        on changes.sku = daily_totals.sku
        and daily_totals.snapshot_on <= changes.effective_on
    qualify row_number() over (
        partition by
            changes.sku,
            changes.effective_on,
            daily_totals.server,
            daily_totals.daemon,
            daily_totals.feature
        order by daily_totals.snapshot_on desc
    ) = 1

),

reported as (

    select
        sku,
        effective_on,
        cast(sum(licenses_issued) as integer) as seats_issued,
        'lmstat -a' as figure_source,
    from reported_features
    group by sku, effective_on

),

final as (

    select * from listed

    union all

    select * from reported
    where sku not in (select sku from listed)

)

select * from final
