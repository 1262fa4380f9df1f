-- The one way business code raises: SQLSTATE PT<status>, a reason key in DETAIL, a fix in HINT.
create or replace function qms.fail(p_status integer, p_reason text, p_message text, p_hint text default null)
    returns void
    language plpgsql
as $$
begin
    raise exception using
        message = p_message,
        errcode = 'PT' || p_status::text,
        detail = p_reason,
        hint = coalesce(p_hint, '');
end
$$;
comment on function qms.fail(integer, text, text, text) is
    'Raise PT<status> with reason key in DETAIL (see docs/error_codes.md). Never returns.';
