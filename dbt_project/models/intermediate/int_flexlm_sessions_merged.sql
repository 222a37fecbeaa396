-- One row per span of overlapping FlexLM checkouts of one feature by one user
-- on one host at one seat count. FlexLM grants repeated checkouts of a feature
-- by the same user, host and display one licence unless they request a
-- different count, so a span holds its seats once however many checkouts it
-- merges. NOTE: a feature whose licence file sets DUP_GROUP=NONE takes a seat
-- per checkout, and the logs do not show DUP_GROUP, so such a feature's seats
-- are undercounted here.

with

sessions as (

    select * from {{ ref('stg_flexlm__sessions') }}

),

held as (

    -- A session still open at the end of its log keeps its seats until the
    -- last time seen for that feature on that server.
    select
        coalesce(server, '') as server,
        coalesce(daemon, '') as daemon,
        feature,
        coalesce(token_product, '') as token_product,
        user_name,
        host,
        os_login,
        seats,
        checkout_at,
        ended_at,
        coalesce(
            ended_at,
            max(coalesce(ended_at, checkout_at)) over (
                partition by server, daemon, feature
            )
        ) as held_until,
    from sessions

),

ordered as (

    select
        *,
        max(held_until) over (
            partition by
                server, daemon, feature, token_product, user_name, host, seats
            order by checkout_at, held_until
            rows between unbounded preceding and 1 preceding
        ) as previous_held_until,
    from held

),

numbered as (

    -- A checkout opens a new span unless an earlier checkout of the same
    -- holder is still out at that moment.
    select
        *,
        sum(
            case when previous_held_until >= checkout_at then 0 else 1 end
        ) over (
            partition by
                server, daemon, feature, token_product, user_name, host, seats
            order by checkout_at, held_until
            rows between unbounded preceding and current row
        ) as span_number,
    from ordered

),

final as (

    select
        server,
        daemon,
        feature,
        nullif(token_product, '') as token_product,
        user_name,
        host,
        min(os_login) as os_login,
        seats,
        min(checkout_at) as checkout_at,
        -- NULL while any merged checkout is still open at the end of its log.
        case
            when bool_and(ended_at is not null) then max(ended_at)
        end as checkin_at,
        max(held_until) as held_until,
        cast(count(*) as integer) as checkouts,
    from numbered
    group by
        server,
        daemon,
        feature,
        token_product,
        user_name,
        host,
        seats,
        span_number

)

select * from final
