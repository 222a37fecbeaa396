with

source as (

    select * from {{ source('raw', 'rejects') }}

),

renamed as (

    select
        source as source_name,
        file_name,
        file_sha256,
        cast(line_number as integer) as line_number,
        reason,
        raw_text,
        cast(loaded_at as timestamp) as loaded_at,
    from source

)

select * from renamed
