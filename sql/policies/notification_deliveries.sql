-- The outbox (docs/adr/0012-notification-outbox.md). Rows are made by the deferred trigger on
-- qms.ticket_events (security definer, so issuers need no privilege here); the sender worker claims and
-- updates them; admins and supervisors read their tenant's rows through api functions.
alter table qms.notification_deliveries enable row level security;
alter table qms.notification_deliveries force row level security;
drop policy if exists notification_deliveries_insert_issuer on qms.notification_deliveries;
drop policy if exists notification_deliveries_select_staff on qms.notification_deliveries;
create policy notification_deliveries_select_staff on qms.notification_deliveries for select
    to qms_supervisor, qms_admin using (tenant_id = (select qms.current_tenant_id()));
drop policy if exists notification_deliveries_update_admin on qms.notification_deliveries;
create policy notification_deliveries_update_admin on qms.notification_deliveries for update to qms_admin
    using (tenant_id = (select qms.current_tenant_id())) with check (tenant_id = (select qms.current_tenant_id()));
drop policy if exists notification_deliveries_update_worker on qms.notification_deliveries;
drop policy if exists notification_deliveries_all_worker on qms.notification_deliveries;
create policy notification_deliveries_all_worker on qms.notification_deliveries for all to qms_worker
    using ((select qms.tenant_match(tenant_id))) with check ((select qms.tenant_match(tenant_id)));
revoke all on qms.notification_deliveries from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin,
    qms_worker, qms_analyst;
grant select on qms.notification_deliveries to qms_supervisor, qms_admin;
grant update (status, max_attempts, next_attempt_at, updated_at) on qms.notification_deliveries to qms_admin;
grant select, update, delete on qms.notification_deliveries to qms_worker;

-- Every attempt: the worker writes, staff read.
alter table qms.notification_attempts enable row level security;
alter table qms.notification_attempts force row level security;
drop policy if exists notification_attempts_select_staff on qms.notification_attempts;
create policy notification_attempts_select_staff on qms.notification_attempts for select
    to qms_supervisor, qms_admin using (tenant_id = (select qms.current_tenant_id()));
drop policy if exists notification_attempts_all_worker on qms.notification_attempts;
create policy notification_attempts_all_worker on qms.notification_attempts for all to qms_worker
    using ((select qms.tenant_match(tenant_id))) with check ((select qms.tenant_match(tenant_id)));
revoke all on qms.notification_attempts from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin,
    qms_worker, qms_analyst;
grant select on qms.notification_attempts to qms_supervisor, qms_admin;
grant select, insert, update, delete on qms.notification_attempts to qms_worker;

-- Why an event made no delivery: staff read, the retention worker purges.
alter table qms.notification_skips enable row level security;
alter table qms.notification_skips force row level security;
drop policy if exists notification_skips_select_staff on qms.notification_skips;
create policy notification_skips_select_staff on qms.notification_skips for select
    to qms_supervisor, qms_admin using (tenant_id = (select qms.current_tenant_id()));
drop policy if exists notification_skips_all_worker on qms.notification_skips;
create policy notification_skips_all_worker on qms.notification_skips for all to qms_worker
    using ((select qms.tenant_match(tenant_id))) with check ((select qms.tenant_match(tenant_id)));
revoke all on qms.notification_skips from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin,
    qms_worker, qms_analyst;
grant select on qms.notification_skips to qms_supervisor, qms_admin;
grant select, delete on qms.notification_skips to qms_worker;

-- Deliveries are made at commit of the writing transaction (deferred: api.create_ticket stores the contact
-- after its event). Constraint triggers cannot be replaced in place, hence drop + create.
drop trigger if exists ticket_events_notify on qms.ticket_events;
create constraint trigger ticket_events_notify
    after insert on qms.ticket_events
    deferrable initially deferred
    for each row
    when (new.type in ('ticket.created', 'ticket.called', 'ticket.recalled', 'ticket.no_show', 'ticket.cancelled',
                       'ticket.held', 'ticket.transferred'))
    execute function qms.tg_ticket_events__notify();
