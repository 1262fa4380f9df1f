-- api.unsubscribe_notifications(token) -> {unsubscribed: true}: the customer's unsubscribe link (any role,
-- also anonymous qms_anon). The token is the contact's unsubscribe_token, carried in every message's
-- unsubscribe URL. Transition: ticket_contacts.notify true -> false (no further delivery is made for the
-- ticket; queued ones are still sent only if made before). Errors: PT404 UNSUBSCRIBE_TOKEN_NOT_FOUND.
-- Idempotent (a second call answers the same). Locking: the contact row.
create or replace function api.unsubscribe_notifications(token uuid) returns jsonb
    language plpgsql
    security invoker
as $$
begin
    if not qms.unsubscribe_contact(unsubscribe_notifications.token) then
        perform qms.fail(404, 'UNSUBSCRIBE_TOKEN_NOT_FOUND', 'unknown unsubscribe link',
                         'Use the link of a message you received.');
    end if;
    return jsonb_build_object('unsubscribed', true);
end
$$;
comment on function api.unsubscribe_notifications(uuid) is
    'Unsubscribe link (anyone): the ticket''s contact gets no more notifications. PT404 UNSUBSCRIBE_TOKEN_NOT_FOUND.';

-- qms.unsubscribe_contact(token) -> found: security definer (an anonymous customer cannot touch contacts);
-- reveals nothing but whether the token exists. No errors.
create or replace function qms.unsubscribe_contact(p_token uuid) returns boolean
    language sql
    security definer
    set search_path = ''
as $$
    with u as (update qms.ticket_contacts c set notify = false where c.unsubscribe_token = p_token returning 1)
    select exists (select 1 from u)
$$;
comment on function qms.unsubscribe_contact(uuid) is 'Opt a ticket contact out by its unsubscribe token.';
revoke all on function qms.unsubscribe_contact(uuid) from public;
grant execute on function qms.unsubscribe_contact(uuid)
    to qms_anon, qms_device, qms_agent, qms_supervisor, qms_admin, qms_worker;
