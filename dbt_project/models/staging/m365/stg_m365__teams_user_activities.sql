{%- set relation = source('raw', 'm365_teams_user_activity') -%}
{%- set columns = existing_columns(relation) -%}
{%- set counts = [
    'team_chat_message_count',
    'private_chat_message_count',
    'call_count',
    'meeting_count',
    'post_messages',
    'reply_messages',
    'urgent_messages',
    'meetings_organized_count',
    'meetings_attended_count',
    'ad_hoc_meetings_organized_count',
    'ad_hoc_meetings_attended_count',
    'scheduled_one_time_meetings_organized_count',
    'scheduled_one_time_meetings_attended_count',
    'scheduled_recurring_meetings_organized_count',
    'scheduled_recurring_meetings_attended_count',
] -%}
{%- set durations = [
    'audio_duration_seconds',
    'video_duration_seconds',
    'screen_share_duration_seconds',
] -%}

with

source as (

    -- The model is empty when the raw table is missing, as in a warehouse
    -- built by an older loader.
    {%- if columns %}
    select * from {{ relation }}
    {%- else %}
    select 1 as no_table where false
    {%- endif %}

),

renamed as (

    select
        {{ column_or_null(columns, 'report_refresh_date', 'date') }}
            as report_refresh_date,
        {{ column_or_null(columns, 'report_period', 'integer') }}
            as report_period,
        {{ column_or_null(columns, 'tenant_display_name', 'varchar') }}
            as tenant_display_name,
        {{
            column_or_null(
                columns, 'shared_channel_tenant_display_names', 'varchar'
            )
        }}
            as shared_channel_tenant_display_names,
        {{ column_or_null(columns, 'user_id', 'varchar') }} as teams_user_id,
        {{ column_or_null(columns, 'user_principal_name', 'varchar') }}
            as user_principal_name,
        {{ column_or_null(columns, 'last_activity_date', 'date') }}
            as last_activity_date,
        coalesce(
            {{ column_or_null(columns, 'is_deleted', 'boolean') }},
            false
        ) as is_deleted,
        {{ column_or_null(columns, 'deleted_date', 'date') }} as deleted_date,
        {{ column_or_null(columns, 'assigned_products', 'varchar') }}
            as assigned_products,
        {%- for count in counts %}
        {{ column_or_null(columns, count, 'integer') }} as {{ count }},
        {%- endfor %}
        {%- for duration in durations %}
        {{ column_or_null(columns, duration, 'double') }} as {{ duration }},
        {%- endfor %}
        {{ column_or_null(columns, 'has_other_action', 'boolean') }}
            as has_other_action,
        {{ column_or_null(columns, 'is_licensed', 'boolean') }} as is_licensed,
        {{ column_or_null(columns, 'is_concealed', 'boolean') }}
            as is_concealed_flag,
        {{ column_or_null(columns, '_source_file', 'varchar') }}
            as _source_file,
        {{ column_or_null(columns, '_line_number', 'integer') }}
            as _line_number,
        {{ column_or_null(columns, '_loaded_at', 'timestamp') }} as _loaded_at,
    from source

),

flagged as (

    -- A concealed report writes a 32-hex pseudonym as the UPN and the all-zero
    -- GUID as the Teams user id.
    select
        * exclude (is_concealed_flag),
        coalesce(is_concealed_flag, false)
        or regexp_matches(trim(user_principal_name), '^[0-9A-F]{32}$')
        or lower(trim(user_principal_name)) in ('(unknown)', '')
        or user_principal_name is null
        or teams_user_id = '00000000-0000-0000-0000-000000000000'
            as is_concealed,
    from renamed

),

deduplicated as (

    -- Overlapping exports repeat a user's row for the same report, so the
    -- latest loaded copy is kept. Counts cover the report period, so rows of
    -- different periods overlap and are never summed.
    select *
    from flagged
    qualify row_number() over (
        partition by user_principal_name, report_refresh_date, report_period
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

),

final as (

    select
        case
            when not is_concealed then {{ user_key('user_principal_name') }}
        end as user_key,
        *,
    from deduplicated

)

select * from final
