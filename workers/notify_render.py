"""Notification templates: Jinja2 in a sandbox. A template comes from the database (the tenant's active
version or the shipped default) and is untrusted tenant input, so it renders in
:class:`jinja2.sandbox.SandboxedEnvironment`. A variable the template uses but the message lacks renders a
fallback in the message's language and logs one warning; a template that cannot be parsed or rendered
raises :class:`TemplateError` (the sender records that as a permanent failure, never a crash)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger("qms.notify")

VARIABLES = ("ticket_number", "branch_name", "service_name", "counter_name", "position", "eta_minutes", "status_url")

# What a missing variable reads as, per language (English for any other).
FALLBACKS: dict[str, dict[str, str]] = {
    "en": {
        "ticket_number": "your ticket",
        "branch_name": "our branch",
        "service_name": "your service",
        "counter_name": "the counter",
        "position": "-",
        "eta_minutes": "a few",
        "status_url": "",
        "unsubscribe_url": "",
    },
    "id": {
        "ticket_number": "nomor Anda",
        "branch_name": "cabang kami",
        "service_name": "layanan Anda",
        "counter_name": "loket",
        "position": "-",
        "eta_minutes": "beberapa",
        "status_url": "",
        "unsubscribe_url": "",
    },
}


class TemplateError(Exception):
    """The template cannot be parsed or rendered (a tenant's mistake; retrying cannot fix it)."""


@dataclass
class Rendered:
    subject: str | None
    text: str
    html: str | None
    missing: list[str] = field(default_factory=list)


def _undefined_class(language: str, missing: list[str]) -> type[jinja2.Undefined]:
    fallbacks = FALLBACKS.get(language, FALLBACKS["en"])

    class Fallback(jinja2.Undefined):
        """Renders the variable's fallback text instead of failing; remembers which name was missing."""

        __slots__ = ()

        def _fallback(self) -> str:
            name = self._undefined_name or ""
            if name not in missing:
                missing.append(name)
            return fallbacks.get(name, "")

        def __str__(self) -> str:
            return self._fallback()

        def __iter__(self) -> Any:
            return iter(())

        def __bool__(self) -> bool:
            return False

    return Fallback


def render(template: dict[str, Any], variables: dict[str, Any], language: str, *, context: str = "") -> Rendered:
    """Render a template ({subject, body_text, body_html}) with ``variables``; HTML autoescaped."""
    missing: list[str] = []
    undefined = _undefined_class(language, missing)
    text_env = SandboxedEnvironment(undefined=undefined, autoescape=False)
    html_env = SandboxedEnvironment(undefined=undefined, autoescape=True)
    values = {k: v for k, v in variables.items() if v is not None}
    try:
        subject = template.get("subject")
        out = Rendered(
            subject=text_env.from_string(subject).render(values).strip() if subject else None,
            text=text_env.from_string(str(template["body_text"])).render(values),
            html=html_env.from_string(template["body_html"]).render(values) if template.get("body_html") else None,
            missing=missing,
        )
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template error: {exc}") from exc
    if missing:
        log.warning(
            json.dumps(
                {"event": "notify.template_variable_missing", "variables": sorted(missing), "language": language}
                | ({"delivery_id": context} if context else {})
            )
        )
    return out
