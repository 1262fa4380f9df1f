-- Ticket numbering helpers (docs/engine.md).
-- qms.business_date: the business day of an instant in a branch's IANA timezone. Stable (tz data).
-- qms.format_ticket_number: applies a policy number_format: {prefix} is the service prefix, {n} the day's
--   number, {n:0W} the number left-padded with zeros to W digits (never truncated: 1000 stays 1000).
--   Immutable, no errors.
create or replace function qms.business_date(p_timezone text, p_at timestamptz default now()) returns date
    language sql stable parallel safe
as $$
    select (p_at at time zone coalesce(p_timezone, 'UTC'))::date
$$;
comment on function qms.business_date(text, timestamptz) is 'The date of an instant in a timezone (branch business day).';

create or replace function qms.format_ticket_number(p_format text, p_prefix text, p_n integer) returns text
    language plpgsql immutable parallel safe
as $$
declare
    v_format text := coalesce(p_format, '{prefix}-{n:03}');
    v_width integer := coalesce((regexp_match(v_format, '\{n:0([1-9])\}'))[1]::integer, 0);
    v_digits text := p_n::text;
begin
    if length(v_digits) < v_width then
        v_digits := lpad(v_digits, v_width, '0');
    end if;
    return regexp_replace(replace(v_format, '{prefix}', coalesce(p_prefix, '')), '\{n(:0[1-9])?\}', v_digits);
end
$$;
comment on function qms.format_ticket_number(text, text, integer) is
    'Format a ticket number: {prefix}, {n}, {n:0W} (zero-padded to W digits), e.g. {prefix}-{n:03} -> A-007.';
