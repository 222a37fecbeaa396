with

source as (

    select * from {{ source('raw', 'okta_users') }}

),

exports as (

    select
        _file_sha256 as file_sha256,
        max(_source_file) as source_file,
        max(_loaded_at) as loaded_at,
        count(*) as users,
        count(*) filter (
            where upper(trim(status)) = 'DEPROVISIONED'
        ) as deprovisioned_users,
    from source
    group by _file_sha256

),

final as (

    -- Okta's default user listing leaves out DEPROVISIONED users, so an
    -- export without any is read as a partial snapshot.
    select
        *,
        deprovisioned_users = 0 as is_partial,
        row_number() over (
            order by loaded_at desc, source_file desc
        ) = 1 as is_latest,
    from exports

)

select * from final
