with

source as (

    select * from {{ source('raw', 'entitlements') }}

),

renamed as (

    select
        vendor,
        application,
        sku,
        lower(trim(license_model)) as license_model,
        feature,
        cast(seats as integer) as seats,
        cast(unit_price as decimal(18, 4)) as unit_price,
        lower(trim(price_period)) as price_period,
        -- Price per seat and month, so lines priced per year compare with others.
        cast(
            case
                when lower(trim(price_period)) in ('year', 'annual', 'yearly')
                    then unit_price / 12
                else unit_price
            end as decimal(18, 4)
        ) as monthly_unit_price,
        upper(trim(currency)) as currency,
        cast(term_start as date) as term_start,
        cast(term_end as date) as term_end,
        cast(renewal_date as date) as renewal_date,
        cast(quote_unit_price as decimal(18, 4)) as quote_unit_price,
        -- The vendor quote is priced per the line's price period too.
        cast(
            case
                when lower(trim(price_period)) in ('year', 'annual', 'yearly')
                    then quote_unit_price / 12
                else quote_unit_price
            end as decimal(18, 4)
        ) as monthly_quote_price,
        cast(min_commitment_seats as integer) as min_commitment_seats,
        cast(reassignment_limit_days as integer) as reassignment_limit_days,
        notes,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

latest_copies as (

    -- Every purchase line counts, even two alike in one file. A line repeated by
    -- a re-export in another file counts once: only the latest file's copies stay.
    select
        *,
        dense_rank() over (
            partition by
                vendor,
                application,
                sku,
                license_model,
                feature,
                seats,
                unit_price,
                price_period,
                currency,
                term_start,
                term_end,
                renewal_date,
                quote_unit_price,
                min_commitment_seats,
                reassignment_limit_days,
                notes
            order by _loaded_at desc, _source_file desc
        ) as file_rank,
    from renamed

),

final as (

    select
        md5(
            concat_ws(
                '|', _source_file, cast(_line_number as varchar)
            )
        ) as purchase_line_id,
        * exclude (file_rank),
    from latest_copies
    where file_rank = 1

)

select * from final
