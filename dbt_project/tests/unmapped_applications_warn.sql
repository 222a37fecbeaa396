-- Warns, never fails: every raw application name the catalog does not map is
-- returned, so someone can add it to seeds/app_catalog.csv.
{{ config(severity='warn') }}

select
    source,
    raw_name,
    rows,
from {{ ref('int_unmapped_applications') }}
