-- qms.require_role: the shared role guard of api functions.
-- Purpose: refuse a call unless the database role of the request (current_user, i.e. the role the gateway
-- or a DBA has `set role` to) is one of p_roles. Grants already keep most roles out; this guard also stops
-- a superuser or owner session that forgot `set role`, and documents who may call a function.
-- Transition: none. Errors: PT403 FORBIDDEN. Idempotent, no locks. Security invoker on purpose: inside a
-- security definer function current_user would be the owner.
create or replace function qms.require_role(variadic p_roles text[]) returns void
    language plpgsql stable
as $$
begin
    if not coalesce(current_user::text = any (p_roles), false) then
        perform qms.fail(403, 'FORBIDDEN',
                         format('role %s may not call this function', current_user),
                         format('Call it as one of: %s.', array_to_string(p_roles, ', ')));
    end if;
end
$$;
comment on function qms.require_role(text[]) is
    'Raise PT403 FORBIDDEN unless current_user is one of the given roles (e.g. qms.require_role(''qms_admin'')).';
