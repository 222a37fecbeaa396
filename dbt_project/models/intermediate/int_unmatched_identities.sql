with

identities as (

    select * from {{ ref('int_identities') }}

),

final as (

    select
        source,
        raw_identity,
        rows,
        first_seen,
        last_seen,
        is_concealed,
    from identities
    where match_method in ('unmatched', 'concealed')

)

select * from final
