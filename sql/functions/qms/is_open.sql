-- Opening hours (docs/engine.md): hours JSON {"mon": [["08:00","15:00"], ...], ...} in the branch's timezone.
-- Empty or null hours mean always open. Once any day is configured, a day that is absent or has an empty
-- list is closed. Intervals are [start, end); "24:00" as end means midnight. Stable (tz data), no errors:
-- a malformed interval counts as closed.
create or replace function qms.is_open(p_hours jsonb, p_timezone text, p_at timestamptz default now())
    returns boolean
    language plpgsql stable parallel safe
as $$
declare
    v_local timestamp := p_at at time zone coalesce(p_timezone, 'UTC');
    v_day text := (array['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'])[extract(dow from v_local)::integer + 1];
    v_time text := to_char(v_local, 'HH24:MI:SS');
begin
    if p_hours is null or jsonb_typeof(p_hours) <> 'object' or p_hours = '{}'::jsonb then
        return true;
    end if;
    if jsonb_typeof(p_hours -> v_day) is distinct from 'array' then
        return false;
    end if;
    return exists (
        select 1 from jsonb_array_elements(p_hours -> v_day) iv
        where jsonb_typeof(iv) = 'array'
          and (iv ->> 0) ~ '^\d{2}:\d{2}$' and (iv ->> 1) ~ '^\d{2}:\d{2}$'
          and v_time >= (iv ->> 0) || ':00'
          and v_time < (iv ->> 1) || ':00');
end
$$;
comment on function qms.is_open(jsonb, text, timestamptz) is
    'Whether opening hours ({"mon": [["08:00","15:00"]]}, branch timezone) are open at an instant; {} = open.';
