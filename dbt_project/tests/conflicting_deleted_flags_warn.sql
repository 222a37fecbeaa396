-- Warns, never fails: lists every account Microsoft 365 flags deleted while
-- recent activity or an active HR or Okta record shows it is live. Such an
-- account is not reclaimed at once, and someone should check which source is
-- wrong.
{{ config(severity='warn') }}

select
    user_key,
    hr_status,
    idp_status,
    m365_deleted_date,
    last_activity_on,
from {{ ref('dim_users') }}
where has_conflicting_deleted_flag
