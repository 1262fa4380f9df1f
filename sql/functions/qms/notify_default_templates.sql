-- qms.default_notification_template(event_type, channel, language): the shipped template of an event in
-- Indonesian ('id') or English ('en', also for any other language), used while a tenant has no active
-- version of its own. Jinja2 text (rendered sandboxed by the sender worker) with the variables
-- ticket_number, branch_name, service_name, counter_name, position, eta_minutes, unsubscribe_url
-- and, on ticket.created, status_url (the status page; the sender makes it absolute with QMS_PUBLIC_URL). E-mail has a subject, a text and an HTML body; sms, whatsapp and push a text body.
-- Returns {event_type, channel, language, version: 0, subject, body_text, body_html}; null for an
-- unknown event. Immutable, no errors, no locks.
create or replace function qms.default_notification_template(p_event_type text, p_channel text, p_language text)
    returns jsonb
    language sql immutable parallel safe
as $$
    with t (event_type, language, subject, line) as (values
        ('ticket.created', 'en', 'Your ticket {{ ticket_number }} at {{ branch_name }}',
         'Your ticket is {{ ticket_number }} for {{ service_name }} at {{ branch_name }}. Position {{ position }}, about {{ eta_minutes }} min.{% if status_url %} Follow it live: {{ status_url }}{% endif %}'),
        ('ticket.created', 'id', 'Nomor antrean Anda {{ ticket_number }} di {{ branch_name }}',
         'Nomor antrean Anda {{ ticket_number }} untuk {{ service_name }} di {{ branch_name }}. Posisi {{ position }}, sekitar {{ eta_minutes }} menit.{% if status_url %} Pantau langsung: {{ status_url }}{% endif %}'),
        ('ticket.ahead', 'en', '{{ ticket_number }}: almost your turn',
         '{{ ticket_number }}: only a few tickets are ahead of you at {{ branch_name }} (position {{ position }}). Please get ready.'),
        ('ticket.ahead', 'id', '{{ ticket_number }}: sebentar lagi giliran Anda',
         '{{ ticket_number }}: tinggal sedikit antrean di depan Anda di {{ branch_name }} (posisi {{ position }}). Mohon bersiap.'),
        ('ticket.called', 'en', '{{ ticket_number }}: please go to {{ counter_name }}',
         'Ticket {{ ticket_number }}: it is your turn. Please go to {{ counter_name }} at {{ branch_name }}.'),
        ('ticket.called', 'id', '{{ ticket_number }}: silakan menuju {{ counter_name }}',
         'Nomor {{ ticket_number }}: giliran Anda. Silakan menuju {{ counter_name }} di {{ branch_name }}.'),
        ('ticket.recalled', 'en', '{{ ticket_number }}: you are being called again',
         'Ticket {{ ticket_number }} is called again. Please go to {{ counter_name }} at {{ branch_name }} now.'),
        ('ticket.recalled', 'id', '{{ ticket_number }}: Anda dipanggil kembali',
         'Nomor {{ ticket_number }} dipanggil kembali. Silakan segera menuju {{ counter_name }} di {{ branch_name }}.'),
        ('ticket.no_show', 'en', '{{ ticket_number }}: we missed you',
         'Ticket {{ ticket_number }} was called but not answered and is now closed. Please take a new ticket at {{ branch_name }}.'),
        ('ticket.no_show', 'id', '{{ ticket_number }}: Anda tidak hadir saat dipanggil',
         'Nomor {{ ticket_number }} sudah dipanggil namun tidak hadir dan kini ditutup. Silakan ambil nomor baru di {{ branch_name }}.'),
        ('ticket.cancelled', 'en', '{{ ticket_number }} is cancelled',
         'Ticket {{ ticket_number }} at {{ branch_name }} is cancelled.'),
        ('ticket.cancelled', 'id', '{{ ticket_number }} dibatalkan',
         'Nomor {{ ticket_number }} di {{ branch_name }} dibatalkan.'))
    select jsonb_build_object(
        'event_type', t.event_type, 'channel', p_channel, 'language', t.language, 'version', 0,
        'subject', case when p_channel = 'email' then t.subject end,
        'body_text', case when p_channel = 'email'
                          then t.line || E'\n\n'
                               || case t.language when 'id' then 'Berhenti menerima pesan: ' else 'Stop these messages: ' end
                               || '{{ unsubscribe_url }}'
                          else t.line end,
        'body_html', case when p_channel = 'email'
                          then '<p>' || t.line || '</p><p style="font-size:small"><a href="{{ unsubscribe_url }}">'
                               || case t.language when 'id' then 'Berhenti menerima pesan' else 'Stop these messages' end
                               || '</a></p>' end)
    from t
    where t.event_type = p_event_type and t.language = case when p_language = 'id' then 'id' else 'en' end
$$;
comment on function qms.default_notification_template(text, text, text) is
    'The shipped (version 0) template of an event, channel and language (id, else en); null for an unknown event.';
