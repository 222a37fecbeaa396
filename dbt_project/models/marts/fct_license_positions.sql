with

skus as (

    select * from {{ ref('dim_skus') }}

),

purchase_lines as (

    select * from {{ ref('int_purchase_lines') }}

),

assignments as (

    select * from {{ ref('fct_license_assignments') }}

),

usage as (

    select * from {{ ref('fct_daily_usage') }}

),

installs as (

    select * from {{ ref('stg_installs__installs') }}

),

catalog as (

    select * from {{ ref('int_app_catalog') }}

),

as_of as (

    select * from {{ ref('as_of_date') }}

),

server_seats as (

    select * from {{ ref('int_license_server_seats') }}

),

data_range as (

    -- From the first day of use (the as-of date when nothing was used) to the
    -- as-of date. Assign dates can lie years back, so they do not widen it.
    select
        coalesce((select min(usage_date) from usage), as_of.as_of_date)
            as first_day,
        as_of.as_of_date as last_day,
    from as_of

),

days as (

    select cast(day as date) as position_date
    from data_range,
        unnest(
            generate_series(
                cast(least(first_day, last_day) as timestamp),
                cast(last_day as timestamp),
                interval 1 day
            )
        ) as grid(day)
    where first_day is not null and last_day is not null

),

grid as (

    select
        skus.sku,
        skus.application_id,
        skus.license_model,
        days.position_date,
    from skus
    cross join days

),

owned as (

    -- Seats owned on a day: every purchase line whose term covers it.
    select
        grid.sku,
        grid.position_date,
        sum(purchase_lines.seats) as seats_owned,
    from grid
    inner join purchase_lines
        on purchase_lines.sku = grid.sku
        and coalesce(purchase_lines.term_start <= grid.position_date, true)
        and coalesce(purchase_lines.term_end >= grid.position_date, true)
    group by 1, 2

),

purchased_skus as (

    select distinct sku
    from purchase_lines
    where sku is not null

),

server_issued as (

    -- The license server's count of issued seats on the day, from the latest
    -- change on or before it.
    select
        grid.sku,
        grid.position_date,
        server_seats.seats_issued,
    from grid
    asof inner join server_seats
        on grid.sku = server_seats.sku
        and grid.position_date >= server_seats.effective_on

),

assigned as (

    select
        grid.sku,
        grid.position_date,
        count(*) as seats_assigned,
    from grid
    inner join assignments
        on assignments.sku = grid.sku
        and coalesce(assignments.assigned_on <= grid.position_date, true)
    group by 1, 2

),

assigned_skus as (

    select distinct sku
    from assignments

),

sku_users as (

    -- Active counts cover the SKU's holders. A purchased or concurrent SKU with
    -- no assignments (a pool) counts every user of its application. A catalog
    -- SKU that is neither assigned nor purchased counts no users.
    select distinct
        sku,
        user_key,
    from assignments

    union

    select distinct
        skus.sku,
        usage.user_key,
    from skus
    inner join usage
        on skus.application_id = usage.application_id
    anti join assigned_skus
        on skus.sku = assigned_skus.sku
    where skus.is_purchased or skus.license_model = 'concurrent'

),

sku_usage as (

    select
        sku_users.sku,
        usage.user_key,
        usage.usage_date,
        lead(usage.usage_date) over (
            partition by sku_users.sku, usage.user_key
            order by usage.usage_date
        ) as next_usage_date,
    from sku_users
    inner join skus
        on sku_users.sku = skus.sku
    inner join usage
        on sku_users.user_key = usage.user_key
        and skus.application_id = usage.application_id

),

days_since_use as (

    -- Each day of use covers the days until the next use, at most 90, so every
    -- covered day carries the days since the holder last used the SKU.
    select
        sku_usage.sku,
        sku_usage.user_key,
        cast(covered.day as date) as position_date,
        date_diff('day', sku_usage.usage_date, cast(covered.day as date))
            as days_since_use,
    from sku_usage
    cross join data_range,
        unnest(
            generate_series(
                cast(sku_usage.usage_date as timestamp),
                cast(
                    least(
                        coalesce(
                            sku_usage.next_usage_date, data_range.last_day + 1
                        ),
                        sku_usage.usage_date + 90
                    ) - 1 as timestamp
                ),
                interval 1 day
            )
        ) as covered(day)

),

active as (

    select
        sku,
        position_date,
        count(*) filter (where days_since_use < 30) as active_30d,
        count(*) filter (where days_since_use < 60) as active_60d,
        count(*) as active_90d,
    from days_since_use
    where position_date <= (select last_day from data_range)
    group by 1, 2

),

install_applications as (

    -- Each installed program maps to the application of its longest matching
    -- catalog name.
    select
        installs.device_id,
        installs.device_name,
        installs.application_name,
        installs.installed_on,
        arg_max(
            catalog.application_id,
            [
                lpad(length(catalog.raw_name)::varchar, 4, '0'),
                catalog.raw_name,
            ],
        )
            as application_id,
    from installs
    inner join catalog
        on catalog.source = 'installs'
        and {{ catalog_matches('catalog', 'installs.application_name') }}
    group by
        installs.device_id,
        installs.device_name,
        installs.application_name,
        installs.installed_on

),

installed as (

    -- Devices with the application installed. Each SKU of an application with
    -- several SKUs shows the application's whole count.
    select
        grid.sku,
        grid.position_date,
        count(
            distinct coalesce(
                install_applications.device_id, install_applications.device_name
            )
        ) as installed,
    from grid
    inner join install_applications
        on grid.application_id = install_applications.application_id
        and coalesce(
            install_applications.installed_on <= grid.position_date, true
        )
    group by 1, 2

),

owned_figures as (

    -- Purchase lines set seats owned whenever the SKU has any. A concurrent
    -- SKU without them owns what its license server issues.
    select
        grid.sku,
        grid.position_date,
        case
            when purchased_skus.sku is not null
                then coalesce(owned.seats_owned, 0)
            when grid.license_model = 'concurrent'
                then coalesce(server_issued.seats_issued, 0)
            else 0
        end as seats_owned,
        case
            when purchased_skus.sku is not null then 'entitlements'
            when
                grid.license_model = 'concurrent'
                and server_issued.seats_issued is not null
                then 'license_server'
        end as seats_owned_source,
    from grid
    left join purchased_skus
        on grid.sku = purchased_skus.sku
    left join owned
        on grid.sku = owned.sku
        and grid.position_date = owned.position_date
    left join server_issued
        on grid.sku = server_issued.sku
        and grid.position_date = server_issued.position_date

),

final as (

    select
        grid.sku,
        grid.application_id,
        grid.position_date,
        cast(owned_figures.seats_owned as integer) as seats_owned,
        owned_figures.seats_owned_source,
        cast(server_issued.seats_issued as integer) as server_seats_issued,
        cast(coalesce(assigned.seats_assigned, 0) as integer) as seats_assigned,
        cast(coalesce(active.active_30d, 0) as integer) as active_30d,
        cast(coalesce(active.active_60d, 0) as integer) as active_60d,
        cast(coalesce(active.active_90d, 0) as integer) as active_90d,
        cast(coalesce(installed.installed, 0) as integer) as installed,
        cast(
            owned_figures.seats_owned - coalesce(assigned.seats_assigned, 0)
            as integer
        ) as seats_gap,
    from grid
    inner join owned_figures using (sku, position_date)
    left join server_issued using (sku, position_date)
    left join assigned using (sku, position_date)
    left join active using (sku, position_date)
    left join installed using (sku, position_date)

)

select * from final
