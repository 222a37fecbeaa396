with

catalog as (

    select * from {{ ref('int_app_catalog') }}

),

applications as (

    select * from {{ ref('dim_applications') }}

),

purchase_lines as (

    select * from {{ ref('int_purchase_lines') }}

),

as_of as (

    select * from {{ ref('as_of_date') }}

),

server_seats as (

    select * from {{ ref('int_license_server_seats') }}

),

server_issued as (

    -- The license server's count of issued seats at the as-of date.
    select
        server_skus.sku,
        server_seats.seats_issued,
    from (
        select distinct server_seats.sku, as_of.as_of_date,
        from server_seats
        cross join as_of
    ) as server_skus
    asof inner join server_seats
        on server_skus.sku = server_seats.sku
        and server_skus.as_of_date >= server_seats.effective_on

),

lines as (

    select
        purchase_lines.*,
        coalesce(
            purchase_lines.term_start <= as_of.as_of_date, true
        )
        and coalesce(purchase_lines.term_end >= as_of.as_of_date, true)
            as is_current,
        as_of.as_of_date,
    from purchase_lines
    cross join as_of
    where purchase_lines.sku is not null

),

purchased_skus as (

    -- Prices are seat-weighted over the lines in force at the as-of date, or over
    -- every line when none is in force.
    select
        sku,
        min(application_id) as application_id,
        max(license_model) as license_model,
        max(feature) as feature,
        coalesce(sum(seats) filter (where is_current), 0) as seats_owned,
        cast(
            coalesce(
                sum(monthly_unit_price * seats) filter (where is_current)
                / nullif(sum(seats) filter (where is_current), 0),
                sum(monthly_unit_price * seats) / nullif(sum(seats), 0),
                avg(monthly_unit_price)
            ) as decimal(18, 4)
        ) as monthly_unit_price,
        max(currency) as currency,
        coalesce(
            min(renewal_date) filter (where renewal_date >= as_of_date),
            max(renewal_date)
        ) as renewal_date,
        max(quote_unit_price) as quote_unit_price,
        max(monthly_quote_price) as monthly_quote_price,
        max(min_commitment_seats) as min_commitment_seats,
    from lines
    group by sku

),

catalog_skus as (

    -- SKUs seen in assignments but never purchased still need a row.
    select
        sku,
        min(application_id) as application_id,
        max(license_model) as license_model,
        max(case when source = 'flexlm' then raw_name end) as feature,
    from catalog
    where sku is not null
    group by sku

),

final as (

    select
        purchased_skus.sku,
        purchased_skus.application_id,
        applications.application,
        coalesce(purchased_skus.license_model, applications.license_model)
            as license_model,
        purchased_skus.feature,
        purchased_skus.seats_owned,
        purchased_skus.monthly_unit_price,
        purchased_skus.currency,
        purchased_skus.renewal_date,
        purchased_skus.quote_unit_price,
        purchased_skus.monthly_quote_price,
        purchased_skus.min_commitment_seats,
        true as is_purchased,
        'entitlements' as seats_owned_source,
        server_issued.seats_issued as server_seats_issued,
    from purchased_skus
    left join applications
        on purchased_skus.application_id = applications.application_id
    left join server_issued
        on purchased_skus.sku = server_issued.sku

    union all

    select
        catalog_skus.sku,
        catalog_skus.application_id,
        applications.application,
        catalog_skus.license_model,
        catalog_skus.feature,
        -- A concurrent SKU bought on no purchase line owns what its license
        -- server issues.
        case
            when catalog_skus.license_model = 'concurrent'
                then coalesce(server_issued.seats_issued, 0)
            else 0
        end as seats_owned,
        cast(null as decimal(18, 4)) as monthly_unit_price,
        cast(null as varchar) as currency,
        cast(null as date) as renewal_date,
        cast(null as decimal(18, 4)) as quote_unit_price,
        cast(null as decimal(18, 4)) as monthly_quote_price,
        cast(null as integer) as min_commitment_seats,
        false as is_purchased,
        case
            when
                catalog_skus.license_model = 'concurrent'
                and server_issued.seats_issued is not null
                then 'license_server'
        end as seats_owned_source,
        server_issued.seats_issued as server_seats_issued,
    from catalog_skus
    left join applications
        on catalog_skus.application_id = applications.application_id
    left join server_issued
        on catalog_skus.sku = server_issued.sku
    where lower(catalog_skus.sku) not in (
        select lower(sku) from purchased_skus
    )

)

select * from final
