-- qms.require_max_rows(max_rows, limit, example): the page-size check of every list and batch function.
-- Errors: PT400 INVALID_MAX_ROWS when max_rows is null or not between 1 and limit (the hint suggests
-- example). Immutable, no locks.
create or replace function qms.require_max_rows(p_max_rows integer, p_limit integer, p_example integer)
    returns void
    language plpgsql immutable
as $$
begin
    if p_max_rows is null or p_max_rows not between 1 and p_limit then
        perform qms.fail(400, 'INVALID_MAX_ROWS', format('max_rows must be between 1 and %s', p_limit),
                         format('Pass e.g. max_rows => %s.', p_example));
    end if;
end
$$;
comment on function qms.require_max_rows(integer, integer, integer) is
    'PT400 INVALID_MAX_ROWS unless 1 <= max_rows <= limit.';
