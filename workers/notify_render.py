"""Notification templates: Jinja2 in a sandbox. A template comes from the database (the tenant's active
version or the shipped default) and is untrusted tenant input, so it renders in
:class:`jinja2.sandbox.SandboxedEnvironment`. A variable the template uses but the message lacks renders a
fallback in the message's language and logs one warning; a template that cannot be parsed or rendered
raises :class:`TemplateError` (the sender records that as a permanent failure, never a crash)."""

from __future__ import annotations

import contextvars
import functools
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


# The missing names of the render in progress (a context variable: renders of concurrent sends stay apart).
_MISSING: contextvars.ContextVar[list[str]] = contextvars.ContextVar("qms_notify_missing")
_LANGUAGE: contextvars.ContextVar[str] = contextvars.ContextVar("qms_notify_language", default="en")


class Fallback(jinja2.Undefined):
    """Renders the variable's fallback text in the message's language instead of failing, and remembers
    which name was missing."""

    __slots__ = ()

    def _fallback(self) -> str:
        name = self._undefined_name or ""
        missing = _MISSING.get(None)
        if missing is not None and name not in missing:
            missing.append(name)
        return FALLBACKS.get(_LANGUAGE.get(), FALLBACKS["en"]).get(name, "")

    def __str__(self) -> str:
        return self._fallback()

    def __iter__(self) -> Any:
        return iter(())

    def __bool__(self) -> bool:
        return False


_TEXT_ENV = SandboxedEnvironment(undefined=Fallback, autoescape=False)
_HTML_ENV = SandboxedEnvironment(undefined=Fallback, autoescape=True)


@functools.lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> jinja2.Template:
    """Compiling is most of a render's cost; a template version's text never changes, so cache by text."""
    return (_HTML_ENV if html else _TEXT_ENV).from_string(source)


def render(template: dict[str, Any], variables: dict[str, Any], language: str, *, context: str = "") -> Rendered:
    """Render a template ({subject, body_text, body_html}) with ``variables``; HTML autoescaped."""
    missing: list[str] = []
    values = {k: v for k, v in variables.items() if v is not None}
    tokens = (_MISSING.set(missing), _LANGUAGE.set(language))
    try:
        subject = template.get("subject")
        out = Rendered(
            subject=_compiled(subject, False).render(values).strip() if subject else None,
            text=_compiled(str(template["body_text"]), False).render(values),
            html=_compiled(template["body_html"], True).render(values) if template.get("body_html") else None,
            missing=missing,
        )
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template error: {exc}") from exc
    finally:
        _MISSING.reset(tokens[0])
        _LANGUAGE.reset(tokens[1])
    if missing:
        log.warning(
            json.dumps(
                {"event": "notify.template_variable_missing", "variables": sorted(missing), "language": language}
                | ({"delivery_id": context} if context else {})
            )
        )
    return out
