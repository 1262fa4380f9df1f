-- Per-tenant notification switchboard and providers: admins write, supervisors read the settings, the
-- sender worker reads both. Provider secrets are never granted to a request role as a column.
alter table qms.notification_settings enable row level security;
alter table qms.notification_settings force row level security;
drop policy if exists notification_settings_select_staff on qms.notification_settings;
create policy notification_settings_select_staff on qms.notification_settings for select
    to qms_supervisor, qms_admin, qms_worker using ((select qms.tenant_match(tenant_id)));
drop policy if exists notification_settings_write_admin on qms.notification_settings;
create policy notification_settings_write_admin on qms.notification_settings for all to qms_admin
    using (tenant_id = (select qms.current_tenant_id())) with check (tenant_id = (select qms.current_tenant_id()));
revoke all on qms.notification_settings from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin,
    qms_worker, qms_analyst;
grant select on qms.notification_settings to qms_supervisor, qms_admin, qms_worker;
grant insert, update on qms.notification_settings to qms_admin;

alter table qms.notification_providers enable row level security;
alter table qms.notification_providers force row level security;
drop policy if exists notification_providers_select_tenant on qms.notification_providers;
create policy notification_providers_select_tenant on qms.notification_providers for select
    to qms_admin, qms_worker using ((select qms.tenant_match(tenant_id)));
drop policy if exists notification_providers_write_admin on qms.notification_providers;
create policy notification_providers_write_admin on qms.notification_providers for all to qms_admin
    using (tenant_id = (select qms.current_tenant_id())) with check (tenant_id = (select qms.current_tenant_id()));
revoke all on qms.notification_providers from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin,
    qms_worker, qms_analyst;
-- admins may read every column but the secret, and write it (api.set_notification_provider).
grant select (tenant_id, channel, kind, config, updated_at) on qms.notification_providers to qms_admin;
grant insert, update on qms.notification_providers to qms_admin;
grant select on qms.notification_providers to qms_worker;

alter table qms.notification_suppressions enable row level security;
alter table qms.notification_suppressions force row level security;
drop policy if exists notification_suppressions_all_worker on qms.notification_suppressions;
create policy notification_suppressions_all_worker on qms.notification_suppressions for all to qms_worker
    using ((select qms.tenant_match(tenant_id))) with check ((select qms.tenant_match(tenant_id)));
drop policy if exists notification_suppressions_select_admin on qms.notification_suppressions;
create policy notification_suppressions_select_admin on qms.notification_suppressions for select to qms_admin
    using (tenant_id = (select qms.current_tenant_id()));
revoke all on qms.notification_suppressions from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin,
    qms_worker, qms_analyst;
grant select on qms.notification_suppressions to qms_admin;
grant select, insert, delete on qms.notification_suppressions to qms_worker;

alter table qms.push_subscriptions enable row level security;
alter table qms.push_subscriptions force row level security;
drop policy if exists push_subscriptions_all_worker on qms.push_subscriptions;
create policy push_subscriptions_all_worker on qms.push_subscriptions for all to qms_worker
    using ((select qms.tenant_match(tenant_id))) with check ((select qms.tenant_match(tenant_id)));
revoke all on qms.push_subscriptions from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin,
    qms_worker, qms_analyst;
grant select, delete on qms.push_subscriptions to qms_worker;
