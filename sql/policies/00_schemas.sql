-- Schema usage and the default: nothing is executable or readable unless granted below or in the
-- per-table files. Re-applied on every deploy.
grant usage on schema qms, api to qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker,
    qms_analyst;
grant usage on schema audit to qms_admin, qms_supervisor;
grant usage on schema analytics to qms_analyst, qms_admin, qms_supervisor;

revoke execute on all functions in schema api from public;
revoke execute on all functions in schema audit from public;
grant execute on function audit.verify_chain(uuid) to qms_admin;
alter default privileges in schema api revoke execute on functions from public;

-- A session idle inside a transaction holds back the event watermark and the NOTIFY queue tail
-- (docs/adr/0005-event-delivery.md): the request role may not do that for long.
alter role qms_authenticator set idle_in_transaction_session_timeout = '30s';
