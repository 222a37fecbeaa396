-- Warns, never fails: every file with report or activity dates more than a
-- day after the machine's current date. Such dates come from a skewed clock
-- or a misread file, so they do not set the as-of date.
{{ config(severity='warn') }}

select
    source,
    dataset,
    source_file,
    future_rows,
    latest_seen_on,
from {{ ref('int_source_dates') }}
where future_rows > 0
