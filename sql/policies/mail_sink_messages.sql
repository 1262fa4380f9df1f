-- The local mail sink writes as qms_worker (any tenant); admins read their tenant's messages through
-- api.list_sink_messages; the retention worker purges.
alter table qms.mail_sink_messages enable row level security;
alter table qms.mail_sink_messages force row level security;
drop policy if exists mail_sink_messages_all_worker on qms.mail_sink_messages;
create policy mail_sink_messages_all_worker on qms.mail_sink_messages for all to qms_worker
    using ((select qms.tenant_match(tenant_id))) with check ((select qms.tenant_match(tenant_id)));
drop policy if exists mail_sink_messages_select_admin on qms.mail_sink_messages;
create policy mail_sink_messages_select_admin on qms.mail_sink_messages for select to qms_admin
    using (tenant_id = (select qms.current_tenant_id()));
revoke all on qms.mail_sink_messages from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker,
    qms_analyst;
grant select on qms.mail_sink_messages to qms_admin;
grant select, insert, delete on qms.mail_sink_messages to qms_worker;
