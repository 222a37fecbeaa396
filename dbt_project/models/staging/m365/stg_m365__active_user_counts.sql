with

source as (

    select * from {{ source('raw', 'm365_active_user_counts') }}

),

renamed as (

    select
        cast(report_refresh_date as date) as report_refresh_date,
        cast(report_date as date) as report_date,
        cast(report_period as integer) as report_period,
        cast(office_365 as integer) as office_365_active_users,
        cast(exchange as integer) as exchange_active_users,
        cast(onedrive as integer) as onedrive_active_users,
        cast(sharepoint as integer) as sharepoint_active_users,
        cast(skype_for_business as integer) as skype_for_business_active_users,
        cast(yammer as integer) as yammer_active_users,
        cast(teams as integer) as teams_active_users,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    -- Successive period pulls overlap: one row per day, from the latest refresh.
    select *
    from renamed
    qualify row_number() over (
        partition by report_date
        order by report_refresh_date desc, _loaded_at desc, _line_number desc
    ) = 1

)

select * from deduplicated
