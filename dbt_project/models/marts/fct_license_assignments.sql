with

assignments as (

    select * from {{ ref('int_license_assignments') }}

),

final as (

    select
        user_key,
        min(application_id) as application_id,
        min(application) as application,
        sku,
        min(assigned_on) as assigned_on,
        string_agg(distinct source, ',' order by source) as source,
    from assignments
    where user_key is not null
        and sku is not null
    group by user_key, sku

)

select * from final
