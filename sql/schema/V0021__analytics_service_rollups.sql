-- Analytics reads at scale (docs/adr/0019-kpi-rollups-with-wait-histograms.md): rollups per hour and per
-- day of branch time, per service, priority class and channel (no counter), each with a histogram of the
-- waits, so api.kpi reads ~30 rows per service and filter value for a month instead of scanning the facts.
--
-- analytics.service_rollups: grain 'hour' (bucket = the local hour) or 'day' (bucket = local midnight);
--   the sums of analytics.hourly_rollups plus wait_hist, the sparse histogram of the waits: {"<k>": how many
--   tickets waited a time in bucket k} (qms.analytics_wait_bucket: bucket 0 is [0, 1 s), bucket k >= 1 is
--   [1.05^(k-1), 1.05^k) s), zero counts left out. Maintained by worker.analytics_fold from the same
--   deltas as hourly_rollups.
-- analytics.hourly_rollup_deltas.wait_bucket: the wait bucket of the contribution the delta row carries
--   (its `waited` count is the histogram change at that bucket); null when it carries no wait.
create table analytics.service_rollups (
    tenant_id            uuid not null,
    branch_id            uuid not null,
    grain                text not null check (grain in ('hour', 'day')),
    bucket               timestamp not null,
    service_id           uuid not null,
    priority_class       text not null,
    channel              text not null,
    tickets              integer not null default 0,
    served               integer not null default 0,
    no_shows             integer not null default 0,
    cancelled            integer not null default 0,
    transferred          integer not null default 0,
    waited               integer not null default 0,
    wait_seconds_sum     numeric not null default 0,
    sla_met              integer not null default 0,
    service_timed        integer not null default 0,
    service_seconds_sum  numeric not null default 0,
    wait_hist            jsonb not null default '{}',
    updated_at           timestamptz not null default now(),
    primary key (tenant_id, branch_id, grain, bucket, service_id, priority_class, channel)
);
-- Tenant-wide reads (no branch filter) by time range.
create index service_rollups_tenant_bucket_idx on analytics.service_rollups (tenant_id, grain, bucket);

alter table analytics.service_rollups enable row level security;
alter table analytics.service_rollups force row level security;

alter table analytics.hourly_rollup_deltas add column wait_bucket smallint;

-- Existing analytics: fold the pending deltas (they carry no wait bucket) into the hourly rollups, then
-- build the service rollups from the facts, with no event written meanwhile. A one-time backfill; the
-- bucket rule here is the one of qms.analytics_wait_bucket at this release.
lock table qms.ticket_events in share row exclusive mode;
insert into analytics.hourly_rollups as r (tenant_id, branch_id, bucket_hour, service_id, priority_class, channel,
    counter_id, tickets, served, no_shows, cancelled, transferred, waited, wait_seconds_sum, sla_met,
    service_timed, service_seconds_sum)
select d.tenant_id, d.branch_id, d.bucket_hour, d.service_id, d.priority_class, d.channel, d.counter_id,
       sum(d.tickets), sum(d.served), sum(d.no_shows), sum(d.cancelled), sum(d.transferred), sum(d.waited),
       sum(d.wait_seconds_sum), sum(d.sla_met), sum(d.service_timed), sum(d.service_seconds_sum)
from analytics.hourly_rollup_deltas d
group by d.tenant_id, d.branch_id, d.bucket_hour, d.service_id, d.priority_class, d.channel, d.counter_id
on conflict on constraint hourly_rollups_key do update
   set tickets = r.tickets + excluded.tickets, served = r.served + excluded.served,
       no_shows = r.no_shows + excluded.no_shows, cancelled = r.cancelled + excluded.cancelled,
       transferred = r.transferred + excluded.transferred, waited = r.waited + excluded.waited,
       wait_seconds_sum = r.wait_seconds_sum + excluded.wait_seconds_sum, sla_met = r.sla_met + excluded.sla_met,
       service_timed = r.service_timed + excluded.service_timed,
       service_seconds_sum = r.service_seconds_sum + excluded.service_seconds_sum;
delete from analytics.hourly_rollup_deltas;

with f as (
    select x.*, extract(epoch from x.first_called_at - x.created_at) as wait,
           extract(epoch from x.completed_at - x.served_at) as svc
    from analytics.ticket_facts x
), c as (
    select f.tenant_id, f.branch_id, g.grain, case g.grain when 'hour' then f.bucket_hour
                                                        else date_trunc('day', f.bucket_hour) end as bucket,
           f.service_id, m.priority_class, m.channel, f.status, f.transferred, f.wait, f.svc,
           f.wait <= f.sla_seconds as met,
           case when f.wait is null then null when f.wait < 1 then 0
                else least(400, 1 + floor(ln(f.wait::double precision) / ln(1.05)))::integer end as wb
    from f cross join (values ('hour'), ('day')) g(grain)
    cross join lateral (values (f.priority_class, f.channel), (f.priority_class, '*'), ('*', f.channel), ('*', '*'))
        m(priority_class, channel)
), cells as (
    select c.tenant_id, c.branch_id, c.grain, c.bucket, c.service_id, c.priority_class, c.channel, c.wb,
           count(*) as n
    from c where c.wb is not null
    group by 1, 2, 3, 4, 5, 6, 7, 8
), hists as (
    select cells.tenant_id, cells.branch_id, cells.grain, cells.bucket, cells.service_id, cells.priority_class,
           cells.channel,
           jsonb_object_agg(cells.wb, cells.n) as wait_hist
    from cells group by 1, 2, 3, 4, 5, 6, 7
)
insert into analytics.service_rollups (tenant_id, branch_id, grain, bucket, service_id, priority_class, channel,
    tickets, served, no_shows, cancelled, transferred, waited, wait_seconds_sum, sla_met, service_timed,
    service_seconds_sum, wait_hist)
select c.tenant_id, c.branch_id, c.grain, c.bucket, c.service_id, c.priority_class, c.channel,
       count(*), count(*) filter (where c.status = 'done'), count(*) filter (where c.status = 'no_show'),
       count(*) filter (where c.status = 'cancelled'), count(*) filter (where c.transferred),
       count(c.wait), coalesce(sum(c.wait), 0), count(*) filter (where c.met), count(c.svc), coalesce(sum(c.svc), 0),
       coalesce(min(h.wait_hist::text)::jsonb, '{}')
from c
left join hists h on (h.tenant_id, h.branch_id, h.grain, h.bucket, h.service_id, h.priority_class, h.channel)
                   = (c.tenant_id, c.branch_id, c.grain, c.bucket, c.service_id, c.priority_class, c.channel)
group by c.tenant_id, c.branch_id, c.grain, c.bucket, c.service_id, c.priority_class, c.channel;
