with

source as (

    select * from {{ source('raw', 'decisions') }}

),

renamed as (

    select
        recommendation_id,
        user_email,
        {{ user_key('user_email') }} as user_key,
        application,
        sku,
        lower(trim(action)) as action,
        lower(trim(decision)) as decision,
        cast(decided_at as timestamp) as decided_at,
        decided_by,
        note,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    -- The latest decision on a recommendation replaces earlier ones.
    select *
    from renamed
    qualify row_number() over (
        partition by recommendation_id
        order by decided_at desc nulls last, _loaded_at desc, _line_number desc
    ) = 1

)

select * from deduplicated
