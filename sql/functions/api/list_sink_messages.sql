-- api.list_sink_messages(max_rows) -> jsonb array, newest first: {message_id, received_at, rcpt_to
--   (masked), subject, body_text, body_html} of the messages the local mail sink of `qms up` received for
--   the caller's tenant (admin). Errors: PT403 FORBIDDEN, PT401 TENANT_REQUIRED, PT400 INVALID_MAX_ROWS.
--   Read-only.
create or replace function api.list_sink_messages(max_rows integer default 50) returns jsonb
    language plpgsql
    stable
    security invoker
as $$
#variable_conflict use_column
declare
    v_tenant uuid;
begin
    perform qms.require_role('qms_admin');
    v_tenant := qms.require_tenant();
    perform qms.require_max_rows(list_sink_messages.max_rows, 1000, 50);
    return (select coalesce(jsonb_agg(jsonb_build_object(
                       'message_id', m.message_id, 'received_at', m.received_at,
                       'rcpt_to', (select jsonb_agg(qms.mask_contact(r)) from unnest(m.rcpt_to) r),
                       'subject', m.subject, 'body_text', m.body_text, 'body_html', m.body_html)
                   order by m.message_id desc), '[]')
            from (select * from qms.mail_sink_messages s where s.tenant_id = v_tenant
                  order by s.message_id desc limit list_sink_messages.max_rows) m);
end
$$;
comment on function api.list_sink_messages(integer) is
    'Messages the local mail sink received for the tenant, newest first (admin). PT400 INVALID_MAX_ROWS.';
