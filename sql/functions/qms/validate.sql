-- Field validators shared by the admin api functions: opening hours, time zone, display names, short
-- codes and device configuration. Each raises PT400 with its reason key; none changes data.

-- qms.validate_hours: opening hours are {"mon": [["08:00","12:00"], ["13:00","15:00"]], ...}; days mon..sun,
-- slots "HH:MM" (end may be "24:00"), each slot start < end, slots of a day ascending and not overlapping.
-- {} (or null) means always open. Returns the hours to store ({} for null).
-- Errors: PT400 INVALID_HOURS. Immutable, no locks.
create or replace function qms.validate_hours(p_hours jsonb) returns jsonb
    language plpgsql immutable
as $$
declare
    v_day text;
    v_slots jsonb;
    v_slot jsonb;
    v_prev_end text;
    v_bad text;
begin
    if p_hours is null then
        return '{}'::jsonb;
    end if;
    if jsonb_typeof(p_hours) <> 'object' then
        v_bad := 'hours must be a JSON object';
    else
        <<days>>
        for v_day, v_slots in select e.key, e.value from jsonb_each(p_hours) e loop
            if not v_day = any (array['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) then
                v_bad := format('unknown day %s', v_day);
            elsif jsonb_typeof(v_slots) <> 'array' then
                v_bad := format('%s must be an array of ["HH:MM","HH:MM"] slots', v_day);
            else
                v_prev_end := null;
                for v_slot in select s from jsonb_array_elements(v_slots) s loop
                    if jsonb_typeof(v_slot) <> 'array' or jsonb_array_length(v_slot) <> 2 then
                        v_bad := format('%s: a slot must be ["HH:MM","HH:MM"]', v_day);
                    elsif jsonb_typeof(v_slot -> 0) <> 'string' or jsonb_typeof(v_slot -> 1) <> 'string'
                          or (v_slot ->> 0) !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'
                          or (v_slot ->> 1) !~ '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$' then
                        v_bad := format('%s: times must be "HH:MM"', v_day);
                    elsif (v_slot ->> 0) >= (v_slot ->> 1) then
                        v_bad := format('%s: slot %s ends before it starts', v_day, v_slot);
                    elsif (v_slot ->> 0) < v_prev_end then
                        v_bad := format('%s: slots must be ascending and must not overlap', v_day);
                    end if;
                    exit days when v_bad is not null;
                    v_prev_end := v_slot ->> 1;
                end loop;
            end if;
            exit days when v_bad is not null;
        end loop;
    end if;
    if v_bad is not null then
        perform qms.fail(400, 'INVALID_HOURS', 'invalid opening hours: ' || v_bad,
                         'Use {"mon": [["08:00","15:00"]], ...} with days mon..sun; {} means always open.');
    end if;
    return p_hours;
end
$$;
comment on function qms.validate_hours(jsonb) is
    'Validate opening hours JSON ({"mon":[["08:00","15:00"]],...}); PT400 INVALID_HOURS. Null gives {}.';

-- qms.validate_timezone: the name must be an IANA zone known to the server. Errors: PT400 INVALID_TIMEZONE.
create or replace function qms.validate_timezone(p_timezone text) returns void
    language plpgsql stable
as $$
begin
    if p_timezone is null or not exists (select 1 from pg_catalog.pg_timezone_names z where z.name = p_timezone) then
        perform qms.fail(400, 'INVALID_TIMEZONE', format('unknown timezone %s', coalesce(p_timezone, 'null')),
                         'Use an IANA name such as Asia/Jakarta or UTC.');
    end if;
end
$$;
comment on function qms.validate_timezone(text) is 'PT400 INVALID_TIMEZONE unless the name is in pg_timezone_names.';

-- qms.validate_name: display names of admin objects: 1..p_max characters after trimming.
-- Errors: PT400 INVALID_NAME. Returns the trimmed name.
create or replace function qms.validate_name(p_name text, p_max integer default 200) returns text
    language plpgsql immutable
as $$
begin
    if p_name is null or length(btrim(p_name)) not between 1 and p_max then
        perform qms.fail(400, 'INVALID_NAME', format('name must be 1 to %s characters', p_max));
    end if;
    return btrim(p_name);
end
$$;
comment on function qms.validate_name(text, integer) is 'Trimmed name, or PT400 INVALID_NAME when empty/too long.';

-- qms.validate_code: optional short codes of branches and services: 1..32 letters, digits, "_" or "-".
-- '' means "no code" (null). Errors: PT400 INVALID_CODE.
create or replace function qms.validate_code(p_code text) returns text
    language plpgsql immutable
as $$
begin
    if nullif(btrim(p_code), '') is not null and btrim(p_code) !~ '^[A-Za-z0-9_-]{1,32}$' then
        perform qms.fail(400, 'INVALID_CODE', 'code must be 1 to 32 letters, digits, "_" or "-"');
    end if;
    return nullif(btrim(p_code), '');
end
$$;
comment on function qms.validate_code(text) is 'Trimmed code ('''' gives null), or PT400 INVALID_CODE.';

-- qms.validate_device_config: device configuration is a JSON object. Errors: PT400 INVALID_CONFIG.
create or replace function qms.validate_device_config(p_config jsonb) returns void
    language plpgsql immutable
as $$
begin
    if p_config is not null and jsonb_typeof(p_config) <> 'object' then
        perform qms.fail(400, 'INVALID_CONFIG', 'device config must be a JSON object');
    end if;
end
$$;
comment on function qms.validate_device_config(jsonb) is 'PT400 INVALID_CONFIG unless null or a JSON object.';
