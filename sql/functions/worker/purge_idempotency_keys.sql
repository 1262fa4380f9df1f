-- worker.purge_idempotency_keys: retention of idempotency keys (qms_worker). Deletes keys older than
-- older_than (default 7 days) across the tenants the worker serves (all, without a tenant claim).
-- Returns the number deleted. Errors: PT400 INVALID_INTERVAL (null or negative). Idempotent by nature.
-- Locking: the deleted rows.
create or replace function worker.purge_idempotency_keys(older_than interval default '7 days') returns integer
    language plpgsql
    security invoker
as $$
declare
    v_count integer;
begin
    if older_than is null or older_than < interval '0' then
        perform qms.fail(400, 'INVALID_INTERVAL', 'older_than must be a positive interval', 'Pass e.g. ''7 days''.');
    end if;
    delete from qms.idempotency_keys k where k.created_at < now() - purge_idempotency_keys.older_than;
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function worker.purge_idempotency_keys(interval) is
    'Delete idempotency keys older than older_than (default 7 days); returns the count. PT400 INVALID_INTERVAL.';
