with

catalog as (

    select * from {{ ref('app_catalog') }}

),

final as (

    select
        lower(trim(source)) as source,
        trim(raw_name) as raw_name,
        coalesce(lower(trim(match_type)), 'exact') as match_type,
        trim(vendor) as vendor,
        trim(application_id) as application_id,
        trim(application) as application,
        nullif(trim(sku), '') as sku,
        lower(trim(license_model)) as license_model,
        nullif(trim(vendor_daemon), '') as vendor_daemon,
    from catalog
    where raw_name is not null

)

select * from final
