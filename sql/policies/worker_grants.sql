-- The platform schema `worker`: jobs that span tenants (event relay, no-show sweeper, retention). Only
-- qms_worker may use it; the gateway never exposes it (it serves `api` alone and refuses worker tokens).
revoke all on schema worker from public;
grant usage on schema worker to qms_worker;
revoke execute on all functions in schema worker from public;
alter default privileges in schema worker revoke execute on functions from public;

grant execute on function worker.sweep_no_shows(integer) to qms_worker;
grant execute on function worker.relay_events(bigint, integer) to qms_worker;
grant execute on function worker.relay_position(text) to qms_worker;
grant execute on function worker.relay_ack(text, bigint) to qms_worker;
grant execute on function worker.purge_idempotency_keys(interval) to qms_worker;
