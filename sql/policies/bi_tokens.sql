-- BI tokens: admins of the tenant manage them; the gateway (qms_authenticator) resolves a token to claims
-- through qms.bi_token_claims (security definer).
alter table qms.bi_tokens enable row level security;
alter table qms.bi_tokens force row level security;
drop policy if exists bi_tokens_all_admin on qms.bi_tokens;
create policy bi_tokens_all_admin on qms.bi_tokens for all to qms_admin
    using (tenant_id = (select qms.current_tenant_id())) with check (tenant_id = (select qms.current_tenant_id()));
revoke all on qms.bi_tokens from qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker, qms_analyst;
grant select, insert, update on qms.bi_tokens to qms_admin;
grant execute on function api.create_bi_token(text) to qms_admin;
grant execute on function api.list_bi_tokens() to qms_admin;
grant execute on function api.revoke_bi_token(uuid) to qms_admin;
grant execute on function qms.bi_token_claims(text) to qms_authenticator;
