-- The ticket metrics (docs/adr/0014-analytics-rollups.md): the one definition of wait, service time,
-- outcome and SLA of a ticket, read from its facts row (analytics.ticket_facts). A missing timestamp gives a
-- null metric, never an error: a ticket never called has no wait, one never served no service time.
--
-- qms.analytics_wait_seconds(f): first_called_at - created_at, in seconds (null until the first call).
-- qms.analytics_service_seconds(f): completed_at - served_at, in seconds (null unless both are set).
-- qms.analytics_sla_met(f): wait <= sla_seconds (the service's sla_minutes at the first call); null without
--   a wait.
-- qms.analytics_outcome(f): done, no_show or cancelled once the ticket ended; null while it is open.
-- qms.analytics_delta(f, sign): the ticket's contribution to its hourly rollup row, times sign (+1 / -1).
-- All immutable, no locks, no errors.
create or replace function qms.analytics_wait_seconds(f analytics.ticket_facts) returns numeric
    language sql immutable parallel safe
as $$
    select extract(epoch from f.first_called_at - f.created_at)
$$;
comment on function qms.analytics_wait_seconds(analytics.ticket_facts) is
    'Wait of a ticket in seconds: first call - issue; null until called.';

create or replace function qms.analytics_service_seconds(f analytics.ticket_facts) returns numeric
    language sql immutable parallel safe
as $$
    select extract(epoch from f.completed_at - f.served_at)
$$;
comment on function qms.analytics_service_seconds(analytics.ticket_facts) is
    'Service time of a ticket in seconds: completed - served; null unless both are known.';

create or replace function qms.analytics_sla_met(f analytics.ticket_facts) returns boolean
    language sql immutable parallel safe
as $$
    select extract(epoch from f.first_called_at - f.created_at) <= f.sla_seconds
$$;
comment on function qms.analytics_sla_met(analytics.ticket_facts) is
    'Whether the wait stayed within the service''s SLA; null without a wait.';

create or replace function qms.analytics_outcome(f analytics.ticket_facts) returns text
    language sql immutable parallel safe
as $$
    select case when f.status in ('done', 'no_show', 'cancelled') then f.status end
$$;
comment on function qms.analytics_outcome(analytics.ticket_facts) is
    'done, no_show or cancelled once a ticket ended; null while open.';

create or replace function qms.analytics_delta(f analytics.ticket_facts, p_sign integer)
    returns analytics.hourly_rollup_deltas
    language sql immutable parallel safe
as $$
    select row(f.tenant_id, null, f.branch_id, f.bucket_hour, f.service_id, f.priority_class, f.channel,
               f.counter_id,
               p_sign,
               p_sign * (f.status = 'done')::integer,
               p_sign * (f.status = 'no_show')::integer,
               p_sign * (f.status = 'cancelled')::integer,
               p_sign * f.transferred::integer,
               p_sign * (f.first_called_at is not null)::integer,
               p_sign * coalesce(qms.analytics_wait_seconds(f), 0),
               p_sign * coalesce(qms.analytics_sla_met(f), false)::integer,
               p_sign * (qms.analytics_service_seconds(f) is not null)::integer,
               p_sign * coalesce(qms.analytics_service_seconds(f), 0))::analytics.hourly_rollup_deltas
$$;
comment on function qms.analytics_delta(analytics.ticket_facts, integer) is
    'A ticket''s contribution to its hourly rollup row (tickets, outcomes, wait and service sums, SLA), '
    'times sign.';
