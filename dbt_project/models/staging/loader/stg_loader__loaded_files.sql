with

source as (

    select * from {{ source('raw', 'loaded_files') }}

),

renamed as (

    select
        source as source_name,
        file_name,
        file_sha256,
        cast(records_total as integer) as records_total,
        cast(rows_landed as integer) as rows_landed,
        cast(rows_rejected as integer) as rows_rejected,
        cast(loaded_at as timestamp) as loaded_at,
    from source

)

select * from renamed
