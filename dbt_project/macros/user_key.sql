{#
  The one definition of a person's key across sources: case-folded, trimmed, without a
  `DOMAIN\` prefix or plus-addressing, and with renamed domains mapped through the
  `email_domain_aliases` seed. Bare logins come back case-folded and are resolved to a
  person in int_identities.
#}
{% macro user_key(expression) -%}
{%- set cleaned -%}
regexp_replace(
    regexp_replace(
        lower({{ trim_spaces(expression) }}),
        '^[^\\@]*\\',
        ''
    ),
    '\+[^@]*@',
    '@'
)
{%- endset -%}
nullif(
    case
        when ({{ cleaned }}) like '%@%'
            then split_part(({{ cleaned }}), '@', 1) || '@' || coalesce(
                (
                    select max(lower(trim(domain_alias.new_domain)))
                    from {{ ref('email_domain_aliases') }} as domain_alias
                    where lower(trim(domain_alias.old_domain))
                        = split_part(({{ cleaned }}), '@', 2)
                ),
                split_part(({{ cleaned }}), '@', 2)
            )
        else ({{ cleaned }})
    end,
    ''
)
{%- endmacro %}


{#
  A license-server login (FlexLM `user`, `DOMAIN\user`, `user@host`) reduced to the
  case-folded OS login that HR `username` holds.
#}
{% macro os_login(expression) -%}
nullif(
    regexp_replace(
        regexp_replace(
            lower({{ trim_spaces(expression) }}),
            '^[^\\@]*\\',
            ''
        ),
        '@[^@]*$',
        ''
    ),
    ''
)
{%- endmacro %}


{#
  The expression without leading and trailing white space, counting the
  no-break space, zero-width space and byte-order mark that exports leave
  around names, which SQL trim() and the regular expression \s both miss.
#}
{% macro trim_spaces(expression) -%}
regexp_replace(
    {{ expression }},
    '^[\s\x{00A0}\x{200B}\x{FEFF}]+|[\s\x{00A0}\x{200B}\x{FEFF}]+$',
    '',
    'g'
)
{%- endmacro %}
