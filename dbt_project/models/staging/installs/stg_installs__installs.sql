with

source as (

    select * from {{ source('raw', 'installs') }}

),

renamed as (

    select
        device_id,
        device_name,
        user_name,
        email,
        {{ user_key('email') }} as user_key,
        application_name,
        publisher,
        version,
        cast(installed_on as date) as installed_on,
        lower(trim(inventory_source)) as inventory_source,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    -- Inventories are re-exported and SCCM lists 32- and 64-bit entries apart: one
    -- row per device, program and version.
    select *
    from renamed
    qualify row_number() over (
        partition by
            coalesce(device_id, device_name),
            lower(trim(application_name)),
            version
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
