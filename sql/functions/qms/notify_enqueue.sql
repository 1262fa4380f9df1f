-- Notification enqueue: a ticket event makes its delivery rows in the writing transaction
-- (docs/adr/0012-notification-outbox.md). It hangs off qms.ticket_events, never off a writer function:
-- the constraint trigger ticket_events_notify (sql/policies/notification_deliveries.sql) is deferred to
-- commit, so it sees the whole command (api.create_ticket stores the contact after the event).
--
-- qms.enqueue_notifications(tenant, ticket, event_seq, event_type, vars, record_skips)
--   One delivery per usable channel of the ticket: email when its contact has an e-mail; whatsapp (when
--   on) else sms when it has a phone; push when the ticket has a push subscription (its status page
--   subscribed: docs/adr/0017-public-push-subscriptions.md), also without a contact row and after an
--   e-mail unsubscribe (the subscription is its own, later opt-in). Contact channels go out in the
--   contact's language, push in the language of the page that subscribed last.
--   No delivery, and one qms.notification_skips row with the reason, when: the tenant's notifications are
--   off (NOTIFICATIONS_OFF), the event is not one it notifies (EVENT_OFF), the ticket has neither contact
--   nor push subscription (NO_CONTACT), the customer unsubscribed and has no push subscription
--   (OPTED_OUT), none of the usable channels is on for the event (channels, channel_events: CHANNEL_OFF), or every usable address is suppressed
--   after STOP / a hard bounce (SUPPRESSED).
--   A tenant-wide reason (NOTIFICATIONS_OFF, EVENT_OFF) is recorded only for a ticket whose customer left
--   contact data or a push subscription (the settings say it for everyone else), so a tenant without
--   notifications writes nothing per event. record_skips = false (the "N ahead" check) records nothing: it runs on every queue move.
--   ticket.created deliveries also carry the issue-time position and eta_minutes (qms.queue_estimate).
--   Idempotent: deliveries are unique per (event_seq, ticket, channel), "ahead" once per ticket and channel.
--   Wakes the sender with pg_notify('qms_notifications') when it made a delivery. No errors, no locks
--   beyond the inserted rows.
-- qms.notify_ahead(event): after a ticket left the waiting line of its service (called, cancelled, held,
--   transferred), the one ticket that now has exactly notify_ahead (policy) tickets before it gets a
--   "ticket.ahead" delivery. Bounded work: one index range scan of at most notify_ahead + 1 rows.
-- qms.tg_ticket_events__notify(): the trigger function. Security definer (the issuer may be a kiosk or an
--   anonymous customer, who cannot read contacts or write deliveries).

create or replace function qms.enqueue_notifications(p_tenant_id uuid, p_ticket_id uuid, p_event_seq bigint,
                                                     p_event_type text, p_vars jsonb, p_record_skips boolean)
    returns integer
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_settings qms.notification_settings;
    v_contact qms.ticket_contacts;
    v_reason text;
    v_candidates text[] := '{}';
    v_channels text[] := '{}';
    v_channel text;
    v_count integer;
    v_has_contact boolean;
    v_push_language text;
    v_read record;
begin
    -- The settings, the contact and the newest push subscription in one statement (this runs in every
    -- ticket command: a statement costs its start-up before any work, docs/benchmarks.md). A skip is
    -- written only where a customer left contact data (or, with notifications on, where none was left):
    -- a tenant without notifications writes nothing per event.
    select ns as settings, tc as contact, tc.ticket_id is not null as has_contact,
           (select p.language from qms.push_subscriptions p
            where p.tenant_id = p_tenant_id and p.ticket_id = p_ticket_id
            order by p.updated_at desc limit 1) as push_language
      into v_read
    from (select) one
    left join qms.notification_settings ns on ns.tenant_id = p_tenant_id
    left join qms.ticket_contacts tc on tc.tenant_id = p_tenant_id and tc.ticket_id = p_ticket_id;
    v_settings := v_read.settings;
    v_contact := v_read.contact;
    v_has_contact := v_read.has_contact;
    v_push_language := v_read.push_language;
    if not coalesce(v_settings.enabled, false) then
        v_reason := 'NOTIFICATIONS_OFF';
    elsif not p_event_type = any (v_settings.events) then
        v_reason := 'EVENT_OFF';
    else
        if v_has_contact and v_contact.notify then
            if v_contact.email is not null then
                v_candidates := v_candidates || 'email'::text;
            end if;
            if v_contact.phone is not null then
                v_candidates := v_candidates || case when 'whatsapp' = any (v_settings.channels) then 'whatsapp'
                                                     else 'sms' end;
            end if;
        end if;
        if v_push_language is not null then
            v_candidates := v_candidates || 'push'::text;
        end if;
        if cardinality(v_candidates) = 0 then
            v_reason := case when v_has_contact then 'OPTED_OUT' else 'NO_CONTACT' end;
        else
            v_candidates := array(select c from unnest(v_candidates) c
                                  where c = any (v_settings.channels)
                                    and (not v_settings.channel_events ? c
                                         or v_settings.channel_events -> c ? p_event_type));
            foreach v_channel in array v_candidates loop
                continue when exists (
                    select 1 from qms.notification_suppressions x
                    where x.tenant_id = p_tenant_id and x.channel = v_channel
                      and x.address_hash = qms.contact_address_hash(
                              case v_channel when 'email' then v_contact.email
                                             when 'push' then null else v_contact.phone end));
                v_channels := v_channels || v_channel;
            end loop;
            v_reason := case when cardinality(v_candidates) = 0 then 'CHANNEL_OFF'
                             when cardinality(v_channels) = 0 then 'SUPPRESSED' end;
        end if;
    end if;
    if v_reason is not null then
        if p_record_skips and (v_has_contact or v_push_language is not null or v_reason = 'NO_CONTACT') then
            insert into qms.notification_skips (tenant_id, ticket_id, event_seq, event_type, reason)
            values (p_tenant_id, p_ticket_id, p_event_seq, p_event_type, v_reason);
        end if;
        return 0;
    end if;
    if p_event_type = 'ticket.created' then
        -- Position and wait estimate at issue (the caller's claims, as api.create_ticket answered them).
        select p_vars || jsonb_strip_nulls(jsonb_build_object(
                   'position', e -> 'position',
                   'eta_minutes', ceil((e ->> 'estimated_wait_seconds')::numeric / 60)))
          into p_vars
        from qms.tickets t, qms.queue_estimate(t) e
        where t.tenant_id = p_tenant_id and t.ticket_id = p_ticket_id;
    end if;
    insert into qms.notification_deliveries (tenant_id, ticket_id, event_seq, event_type, channel, language, vars,
                                             max_attempts)
    select p_tenant_id, p_ticket_id, p_event_seq, p_event_type, c,
           case when c = 'push' then v_push_language else v_contact.language end, p_vars,
           v_settings.max_attempts
    from unnest(v_channels) c
    on conflict do nothing;
    get diagnostics v_count = row_count;
    if v_count > 0 then
        perform pg_notify('qms_notifications', '');
    end if;
    return v_count;
end
$$;
comment on function qms.enqueue_notifications(uuid, uuid, bigint, text, jsonb, boolean) is
    'Make the deliveries of one ticket event (one per usable channel), or record why none was made.';
revoke all on function qms.enqueue_notifications(uuid, uuid, bigint, text, jsonb, boolean) from public;

create or replace function qms.notify_ahead(p_event qms.ticket_events) returns void
    language plpgsql
    security definer
    set search_path = ''
as $$
declare
    v_n integer;
    v_ticket_id uuid;
begin
    if not exists (select 1 from qms.notification_settings s
                   where s.tenant_id = p_event.tenant_id and s.enabled and 'ticket.ahead' = any (s.events)) then
        return;
    end if;
    v_n := (qms.effective_policy(p_event.tenant_id, p_event.branch_id, p_event.service_id) ->> 'notify_ahead')::integer;
    if coalesce(v_n, 0) <= 0 then
        return;
    end if;
    select t.ticket_id into v_ticket_id
    from qms.tickets t
    where t.tenant_id = p_event.tenant_id and t.service_id = p_event.service_id and t.status = 'waiting'
    order by t.priority_rank, t.queued_at
    offset v_n limit 1;
    if found then
        perform qms.enqueue_notifications(p_event.tenant_id, v_ticket_id, p_event.seq, 'ticket.ahead',
                                          jsonb_build_object('position', v_n + 1, 'ahead', v_n), false);
    end if;
end
$$;
comment on function qms.notify_ahead(qms.ticket_events) is
    'After a queue move: the ticket with exactly notify_ahead tickets before it gets its once-only "ahead" delivery.';
revoke all on function qms.notify_ahead(qms.ticket_events) from public;

create or replace function qms.tg_ticket_events__notify() returns trigger
    language plpgsql
    security definer
    set search_path = ''
as $$
begin
    if new.type in ('ticket.called', 'ticket.cancelled', 'ticket.held', 'ticket.transferred') then
        perform qms.notify_ahead(new);
    end if;
    if new.type in ('ticket.created', 'ticket.called', 'ticket.recalled', 'ticket.no_show', 'ticket.cancelled') then
        -- ticket.created carries the status page's link that api.create_ticket left for this transaction.
        perform qms.enqueue_notifications(new.tenant_id, new.ticket_id, new.seq, new.type,
                                          jsonb_strip_nulls(jsonb_build_object(
                                              'counter_id', new.counter_id,
                                              'status_url', case when new.type = 'ticket.created' then
                                                  qms.issued_status_url(new.ticket_id)
                                              end)),
                                          true);
    end if;
    return null;
end
$$;
comment on function qms.tg_ticket_events__notify() is
    'Deferred AFTER INSERT trigger of qms.ticket_events: the notifications of the event, in its transaction.';
revoke all on function qms.tg_ticket_events__notify() from public;

-- qms.contact_address_hash: sha256 of a normalised address (lower-case e-mail; phone digits only, so
-- "+62 812-3" and "62812 3" match). Immutable, no errors.
create or replace function qms.contact_address_hash(p_address text) returns bytea
    language sql immutable parallel safe
as $$
    select case when p_address is null then null
                when position('@' in p_address) > 0 then pg_catalog.sha256(pg_catalog.convert_to(lower(btrim(p_address)), 'UTF8'))
                else pg_catalog.sha256(pg_catalog.convert_to(regexp_replace(p_address, '[^0-9]', '', 'g'), 'UTF8')) end
$$;
comment on function qms.contact_address_hash(text) is
    'sha256 of a normalised e-mail (lower-case) or phone (digits only): the suppression list key.';
