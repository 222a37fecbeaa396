with

source_dates as (

    select * from {{ ref('int_source_dates') }}

),

ranked_dates as (

    -- Report and activity dates date the data. HR, install and decision dates
    -- do so only when no report or activity date exists.
    select
        *,
        date_kind = 'directory' as is_fallback,
    from source_dates
    where latest_on is not null

),

latest as (

    select
        coalesce(
            max(latest_on) filter (where not is_fallback),
            max(latest_on)
        ) as latest_data_on,
    from ranked_dates

),

latest_source as (

    select
        min(
            ranked_dates.source || ' ' || ranked_dates.dataset || ' ('
            || ranked_dates.source_file || ')'
        ) as latest_data_source,
    from ranked_dates
    cross join latest
    where ranked_dates.latest_on = latest.latest_data_on
        and (
            not ranked_dates.is_fallback
            or not exists (select 1 from ranked_dates where not is_fallback)
        )

),

final as (

    -- NULL only when no source has a date up to a day after the machine's
    -- current date. The wall clock never sets the date, so a re-run on old
    -- data gives the same result.
    select
        coalesce({{ as_of_date_var() }}, latest.latest_data_on) as as_of_date,
        latest.latest_data_on,
        latest_source.latest_data_source,
        (
            select cast(count(distinct source_file) as integer)
            from source_dates
            where future_rows > 0
        ) as future_dated_files,
    from latest
    cross join latest_source

)

select * from final
