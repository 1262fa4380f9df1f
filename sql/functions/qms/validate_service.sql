-- Field checks of a service, shared by api.create_service and api.update_service.

-- qms.validate_service: checks the non-null fields of a service create/update.
-- Errors: PT400 INVALID_NAME / INVALID_PREFIX / INVALID_SLA / INVALID_CAPACITY / INVALID_CODE / INVALID_HOURS.
create or replace function qms.validate_service(p_name text, p_prefix text, p_sla_minutes integer,
                                                p_code text, p_capacity integer, p_hours jsonb) returns void
    language plpgsql immutable
as $$
begin
    if p_name is not null then
        perform qms.validate_name(p_name);
    end if;
    if p_prefix is not null and upper(btrim(p_prefix)) !~ '^[A-Z0-9]{1,4}$' then
        perform qms.fail(400, 'INVALID_PREFIX', 'prefix must be 1 to 4 letters or digits',
                         'The prefix starts every ticket number, e.g. "A" gives A-001.');
    end if;
    if p_sla_minutes is not null and p_sla_minutes not between 1 and 1440 then
        perform qms.fail(400, 'INVALID_SLA', 'sla_minutes must be between 1 and 1440');
    end if;
    if p_capacity is not null and p_capacity not between 1 and 100000 then
        perform qms.fail(400, 'INVALID_CAPACITY', 'capacity must be between 1 and 100000 tickets per day');
    end if;
    perform qms.validate_code(p_code);
    perform qms.validate_hours(p_hours);
end
$$;
comment on function qms.validate_service(text, text, integer, text, integer, jsonb) is
    'Field checks of a service (nulls are skipped): PT400 INVALID_NAME/PREFIX/SLA/CAPACITY/CODE/HOURS.';
