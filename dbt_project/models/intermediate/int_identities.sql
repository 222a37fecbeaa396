with

sightings as (

    select * from {{ ref('int_identity_sightings') }}

),

employees as (

    select * from {{ ref('stg_hr__employees') }}

),

aliases as (

    select * from {{ ref('identity_aliases') }}

),

identities as (

    select
        source,
        raw_identity,
        max(candidate_key) as candidate_key,
        max(candidate_login) as candidate_login,
        bool_or(is_concealed) as is_concealed,
        count(*) as rows,
        min(seen_on) as first_seen,
        max(seen_on) as last_seen,
    from sightings
    group by source, raw_identity

),

hr_keys as (

    select distinct user_key
    from employees
    where user_key is not null

),

hr_logins as (

    -- A login shared by two employees cannot name one person, so it is not used.
    select
        username,
        min(user_key) as user_key,
    from employees
    where username is not null and user_key is not null
    group by username
    having count(distinct user_key) = 1

),

salesforce_suffixed_keys as (

    -- Salesforce usernames are often an e-mail plus a suffix (`jane@acme.com.acme`).
    -- A login without a User export row matches the HR e-mail it extends.
    select
        identities.raw_identity,
        max(hr_keys.user_key) as user_key,
    from identities
    inner join hr_keys
        on starts_with(identities.candidate_key, hr_keys.user_key || '.')
    where identities.source = 'salesforce'
    group by identities.raw_identity
    having count(distinct hr_keys.user_key) = 1

),

alias_keys as (

    select
        lower(trim(source)) as source,
        lower(trim(raw_identity)) as raw_identity,
        max({{ user_key('email') }}) as user_key,
    from aliases
    group by 1, 2

),

resolved as (

    select
        identities.source,
        identities.raw_identity,
        identities.is_concealed,
        identities.rows,
        identities.first_seen,
        identities.last_seen,
        identities.candidate_key as normalised_identity,
        alias_keys.user_key as alias_key,
        coalesce(hr_keys.user_key, salesforce_suffixed_keys.user_key)
            as hr_email_key,
        hr_logins.user_key as hr_login_key,
        -- An e-mail-shaped key from a source other than a license server is a
        -- person even when HR does not list them (guests, contractors).
        identities.source <> 'flexlm'
        and regexp_matches(
            coalesce(identities.candidate_key, ''),
            '^[^@\s]+@[^@\s]+\.[^@\s]+$'
        ) as is_email_shaped,
    from identities
    left join alias_keys
        on identities.source = alias_keys.source
        and lower(trim(identities.raw_identity)) = alias_keys.raw_identity
    left join hr_keys
        on identities.candidate_key = hr_keys.user_key
    left join salesforce_suffixed_keys
        on identities.source = 'salesforce'
        and identities.raw_identity = salesforce_suffixed_keys.raw_identity
    left join hr_logins
        on identities.candidate_login = hr_logins.username

),

final as (

    select
        source,
        raw_identity,
        normalised_identity,
        case
            when is_concealed then null
            when alias_key is not null then alias_key
            when hr_email_key is not null then hr_email_key
            when hr_login_key is not null then hr_login_key
            when is_email_shaped then normalised_identity
        end as user_key,
        case
            when is_concealed then 'concealed'
            when alias_key is not null then 'alias'
            when hr_email_key is not null then 'email'
            when hr_login_key is not null then 'hr_username'
            when is_email_shaped then 'email'
            else 'unmatched'
        end as match_method,
        is_concealed,
        coalesce(
            not is_concealed
            and (
                alias_key in (select user_key from hr_keys)
                or hr_email_key is not null
                or hr_login_key is not null
            ),
            false
        ) as is_in_hr,
        rows,
        first_seen,
        last_seen,
    from resolved

)

select * from final
