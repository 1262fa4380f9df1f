-- The ticket metrics (docs/adr/0014-analytics-rollups.md): the one definition of wait, service time,
-- outcome and SLA of a ticket, read from its facts row (analytics.ticket_facts). A missing timestamp gives a
-- null metric, never an error: a ticket never called has no wait, one never served no service time.
--
-- qms.analytics_wait_seconds(f): first_called_at - created_at, in seconds (null until the first call).
-- qms.analytics_service_seconds(f): completed_at - served_at, in seconds (null unless both are set).
-- qms.analytics_sla_met(f): wait <= sla_seconds (the service's sla_minutes at the first call); null without
--   a wait.
-- qms.analytics_outcome(f): done, no_show or cancelled once the ticket ended; null while it is open.
-- qms.analytics_delta(f, sign): the ticket's contribution to its hourly rollup row, times sign (+1 / -1),
--   with the wait bucket of its wait (null without a wait).
-- Wait histograms (docs/adr/0019-kpi-rollups-with-wait-histograms.md):
-- qms.analytics_wait_bucket(seconds): bucket 0 = [0, 1 s), bucket k >= 1 = [1.05^(k-1), 1.05^k) s (capped at
--   400, ~9 years); null stays null. qms.analytics_bucket_lower(k) / qms.analytics_bucket_upper(k): its
--   [lower, upper) in seconds.
-- qms.analytics_hist_from(buckets, counts): the sparse histogram {"<bucket>": count} of bucket/count pairs
--   (repeated buckets add up, zero counts left out; '{}' when none is left).
-- qms.analytics_hist_add(a, b): the sum of two histograms, zero counts left out.
-- qms.analytics_hist_quantiles(buckets, counts) -> {median, p90}: from cells in ascending bucket order with
--   positive counts (n waits in all): for q the two order statistics around rank q·(n-1) (percentile_cont's
--   definition), each placed inside its bucket linearly by rank, then interpolated; {null, null} when n = 0.
--   Every estimate lies in the bucket of the true order statistic, hence within 5 % + 1 s (ADR 0019).
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

create or replace function qms.analytics_wait_bucket(p_seconds numeric) returns smallint
    language sql immutable parallel safe
as $$
    select case when p_seconds is null then null
                when p_seconds < 1 then 0
                else least(400, 1 + floor(ln(p_seconds::double precision) / ln(1.05::double precision)))
           end::smallint
$$;
comment on function qms.analytics_wait_bucket(numeric) is
    'Wait histogram bucket of a wait in seconds: 0 = [0, 1 s), k >= 1 = [1.05^(k-1), 1.05^k) s; null stays null.';

create or replace function qms.analytics_bucket_lower(p_bucket integer) returns double precision
    language sql immutable parallel safe
as $$
    select case when p_bucket = 0 then 0 else power(1.05::double precision, p_bucket - 1) end
$$;
comment on function qms.analytics_bucket_lower(integer) is 'The lower bound in seconds of a wait histogram bucket.';

create or replace function qms.analytics_bucket_upper(p_bucket integer) returns double precision
    language sql immutable parallel safe
as $$
    select power(1.05::double precision, p_bucket)
$$;
comment on function qms.analytics_bucket_upper(integer) is
    'The upper bound in seconds (exclusive) of a wait histogram bucket.';

create or replace function qms.analytics_hist_quantiles(p_buckets integer[], p_counts bigint[])
    returns double precision[]
    language plpgsql immutable parallel safe
as $$
declare
    v_total bigint := 0;
    v_out double precision[] := '{}';
    v_q double precision;
    v_pos double precision;
    v_lo bigint;
    v_hi bigint;
    v_before bigint;
    v_elo double precision;
    v_ehi double precision;
    v_lower double precision;
    v_upper double precision;
    i integer;
begin
    for i in 1 .. coalesce(cardinality(p_counts), 0) loop
        v_total := v_total + p_counts[i];
    end loop;
    if v_total <= 0 then
        return array[null, null]::double precision[];
    end if;
    foreach v_q in array array[0.5, 0.9]::double precision[] loop
        v_pos := v_q * (v_total - 1);
        v_lo := floor(v_pos);
        v_hi := ceil(v_pos);
        v_before := 0;
        v_elo := null;
        v_ehi := null;
        for i in 1 .. cardinality(p_counts) loop
            if v_lo < v_before + p_counts[i] or v_hi < v_before + p_counts[i] then
                v_lower := qms.analytics_bucket_lower(p_buckets[i]);
                v_upper := qms.analytics_bucket_upper(p_buckets[i]);
                if v_elo is null and v_lo < v_before + p_counts[i] then
                    v_elo := v_lower + (v_lo - v_before + 0.5) / p_counts[i] * (v_upper - v_lower);
                end if;
                if v_hi < v_before + p_counts[i] then
                    v_ehi := v_lower + (v_hi - v_before + 0.5) / p_counts[i] * (v_upper - v_lower);
                    exit;
                end if;
            end if;
            v_before := v_before + p_counts[i];
        end loop;
        v_out := v_out || (v_elo + (v_pos - v_lo) * (v_ehi - v_elo));
    end loop;
    return v_out;
end
$$;
comment on function qms.analytics_hist_quantiles(integer[], bigint[]) is
    'Median and p90 estimated from a wait histogram (buckets ascending), as percentile_cont places them; '
    'within 5 percent + 1 s of the exact value.';

create or replace function qms.analytics_hist_from(p_buckets integer[], p_counts bigint[]) returns jsonb
    language sql immutable parallel safe
as $$
    select coalesce(jsonb_object_agg(c.b, c.n), '{}')
    from (select m.b, sum(m.n) as n from unnest(p_buckets, p_counts) m(b, n)
          where m.b is not null group by m.b having sum(m.n) <> 0) c
$$;
comment on function qms.analytics_hist_from(integer[], bigint[]) is
    'Sparse wait histogram {"bucket": count} of bucket/count pairs (zero counts left out).';

create or replace function qms.analytics_hist_add(a jsonb, b jsonb) returns jsonb
    language sql immutable parallel safe
as $$
    select qms.analytics_hist_from(array_agg(h.key::integer), array_agg(h.value::bigint))
    from (select * from jsonb_each_text(a) union all select * from jsonb_each_text(b)) h
$$;
comment on function qms.analytics_hist_add(jsonb, jsonb) is
    'Sum of two sparse wait histograms (zero counts left out).';

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
               p_sign * coalesce(qms.analytics_service_seconds(f), 0),
               qms.analytics_wait_bucket(qms.analytics_wait_seconds(f)))::analytics.hourly_rollup_deltas
$$;
comment on function qms.analytics_delta(analytics.ticket_facts, integer) is
    'A ticket''s contribution to its hourly rollup row (tickets, outcomes, wait and service sums, SLA), '
    'times sign, with its wait bucket.';
