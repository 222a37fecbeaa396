with

source as (

    select * from {{ source('raw', 'okta_users') }}

),

renamed as (

    select
        user_id,
        login,
        email,
        {{ user_key('coalesce(nullif(trim(email), \'\'), login)') }}
            as user_key,
        upper(trim(status)) as status,
        cast(last_login_at as timestamp) as last_login_at,
        never_logged_in,
        cast(activated_at as timestamp) as activated_at,
        cast(deactivated_at as timestamp) as deactivated_at,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    select *
    from renamed
    qualify row_number() over (
        partition by coalesce(user_id, user_key)
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
