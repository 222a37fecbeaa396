with

source as (

    select * from {{ source('raw', 'hr_directory') }}

),

renamed as (

    select
        trim(employee_id) as employee_id,
        email,
        {{ user_key('email') }} as user_key,
        {{ os_login('username') }} as username,
        first_name,
        last_name,
        coalesce(
            nullif(trim(display_name), ''),
            nullif(trim(concat_ws(' ', first_name, last_name)), '')
        ) as display_name,
        department,
        role,
        manager_email,
        {{ user_key('manager_email') }} as manager_key,
        location,
        cost_center,
        cast(fte as double) as fte,
        cast(hire_date as date) as hire_date,
        cast(termination_date as date) as termination_date,
        status as status_raw,
        -- HR systems spell statuses many ways, and a termination date without a
        -- status still means the person left.
        case
            when lower(trim(status)) in (
                'active', 'employed', 'current', 'a'
            ) then 'active'
            when lower(trim(status)) in (
                'terminated', 'inactive', 'separated', 'former',
                'left', 'term', 't'
            ) then 'terminated'
            when lower(trim(status)) in (
                'leave', 'on leave', 'loa', 'leave of absence',
                'parental leave', 'sabbatical', 'l'
            ) then 'leave'
            when termination_date is not null then 'terminated'
            else 'unknown'
        end as hr_status,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    -- The latest HR file is the current record of each employee.
    select *
    from renamed
    qualify row_number() over (
        partition by coalesce(employee_id, user_key)
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
