"""REST routes of the spec: each one validates the shape and calls one ``api`` function.

Request bodies are passed on as named arguments (only the fields the client sent, so SQL defaults apply;
extra fields are allowed and checked against the function's parameters). Query strings of list routes are
passed on the same way. Each route names exactly one function; were it missing from the database, the route
answers 404 UNKNOWN_FUNCTION."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway import auth
from gateway.db import Database
from gateway.errors import ApiError
from gateway.routes.rpc import json_response

router = APIRouter(prefix="/api")


class Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class TicketIn(Body):
    service_id: uuid.UUID
    channel: Literal["kiosk", "web", "mobile", "staff", "api"] | None = None
    priority_class: str | None = None
    request_id: uuid.UUID | None = None


Action = Literal[
    "call_next", "call", "recall", "start", "complete", "hold", "unhold", "transfer", "cancel", "mark_no_show"
]


class TicketActionIn(Body):
    action: Action
    counter_id: uuid.UUID | None = None
    request_id: uuid.UUID | None = None
    target_service_id: uuid.UUID | None = None
    target_counter_id: uuid.UUID | None = None
    reason: str | None = Field(default=None, max_length=500)


class BranchIn(Body):
    name: str = Field(min_length=1, max_length=200)
    timezone: str | None = None
    code: str | None = None


class ServiceIn(Body):
    branch_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    prefix: str = Field(min_length=1, max_length=4)
    sla_minutes: int | None = None


class CounterIn(Body):
    branch_id: uuid.UUID
    name: str = Field(min_length=1, max_length=100)
    service_ids: list[uuid.UUID]
    area_id: uuid.UUID | None = None


class CounterStatusIn(Body):
    status: Literal["available", "break", "closed"]


class DeviceIn(Body):
    branch_id: uuid.UUID
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["kiosk", "display"]
    area_id: uuid.UUID | None = None


class UserIn(Body):
    email: str = Field(min_length=3, max_length=320)
    display_name: str = Field(min_length=1, max_length=200)
    role: Literal["agent", "supervisor", "admin", "analyst"]
    branch_ids: list[uuid.UUID] | None = None


class Ticket(BaseModel):
    """The ticket object (more fields may be present)."""

    model_config = ConfigDict(extra="allow")
    ticket_id: uuid.UUID
    ticket_number: str | None = None
    tenant_id: uuid.UUID | None = None
    branch_id: uuid.UUID | None = None
    service_id: uuid.UUID | None = None
    area_id: uuid.UUID | None = None
    counter_id: uuid.UUID | None = None
    status: str | None = None
    channel: str | None = None
    priority_class: str | None = None
    returned: bool | None = None
    created_at: str | None = None
    called_at: str | None = None
    served_at: str | None = None
    completed_at: str | None = None


class CallNextOut(BaseModel):
    ticket: Ticket | None = None
    reason: str | None = None


def _args(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(mode="json", exclude_unset=True)


def _query(request: Request, **fixed: Any) -> dict[str, Any]:
    args: dict[str, Any] = {k: v for k, v in request.query_params.items()}
    args.update({k: v for k, v in fixed.items() if v is not None})
    return args


async def call(request: Request, fn: str, args: dict[str, Any], *, from_query: bool = False) -> Response:
    db: Database = request.app.state.db
    _f, text = await db.call(auth.request_context(request), fn, args, from_query=from_query)
    return json_response(text)


# -- tickets -----------------------------------------------------------------------------------------
@router.post("/tickets", tags=["tickets"], responses={200: {"model": Ticket}})
async def create_ticket(body: TicketIn, request: Request) -> Response:
    return await call(request, "create_ticket", _args(body))


@router.get("/tickets/{ticket_id}", tags=["tickets"], responses={200: {"model": Ticket}})
async def get_ticket(ticket_id: uuid.UUID, request: Request) -> Response:
    return await call(request, "get_ticket", {"ticket_id": str(ticket_id)})


@router.get("/tickets/{ticket_id}/events", tags=["tickets"])
async def ticket_events(ticket_id: uuid.UUID, request: Request) -> Response:
    return await call(request, "ticket_events", {"ticket_id": str(ticket_id)})


@router.post("/tickets/{ticket_id}/actions", tags=["tickets"], responses={200: {"model": Ticket}})
async def ticket_action(ticket_id: uuid.UUID, body: TicketActionIn, request: Request) -> Response:
    """Any ticket action; ``call_next`` calls the next ticket for ``counter_id`` (the path id is ignored)."""
    args = _args(body)
    if body.action == "call_next":
        if body.counter_id is None:
            raise ApiError(400, "INVALID_ARGUMENTS", "call_next needs counter_id", hint="Send counter_id.")
        args.pop("action")
        return await call(request, "call_next", args)
    return await call(request, "ticket_action", {"ticket_id": str(ticket_id), **args})


@router.post("/counters/{counter_id}/call-next", tags=["tickets"], responses={200: {"model": CallNextOut}})
async def call_next(counter_id: uuid.UUID, request: Request, request_id: uuid.UUID | None = None) -> Response:
    args: dict[str, Any] = {"counter_id": str(counter_id)}
    if request_id:
        args["request_id"] = str(request_id)
    return await call(request, "call_next", args)


@router.get("/queues", tags=["tickets"])
async def queues(request: Request, branch_id: uuid.UUID, service_id: uuid.UUID | None = None) -> Response:
    return await call(request, "queue_snapshot", _query(request), from_query=True)


@router.get("/display/snapshot", tags=["tickets"])
async def display_snapshot(
    request: Request, branch_id: uuid.UUID, area_id: uuid.UUID | None = None, last_n: int | None = None
) -> Response:
    return await call(request, "display_snapshot", _query(request), from_query=True)


# -- admin -------------------------------------------------------------------------------------------
def _admin_pair(path: str, create_fn: str, list_fn: str, model: type[Body]) -> None:
    async def create(body: Body, request: Request) -> Response:
        return await call(request, create_fn, _args(body))

    # The concrete model documents and validates the body (annotations are strings under __future__).
    create.__annotations__ = {**create.__annotations__, "body": model, "request": Request}

    async def listing(request: Request) -> Response:
        return await call(request, list_fn, _query(request), from_query=True)

    create.__name__ = create_fn
    listing.__name__ = list_fn
    router.add_api_route(path, create, methods=["POST"], tags=["admin"], summary=f"api.{create_fn}")
    router.add_api_route(
        path,
        listing,
        methods=["GET"],
        tags=["admin"],
        summary=f"api.{list_fn} (query parameters are its arguments)",
    )


_admin_pair("/branches", "create_branch", "list_branches", BranchIn)
_admin_pair("/services", "create_service", "list_services", ServiceIn)
_admin_pair("/counters", "create_counter", "list_counters", CounterIn)
_admin_pair("/devices", "create_device", "list_devices", DeviceIn)
_admin_pair("/users", "create_user", "list_users", UserIn)


@router.post("/counters/{counter_id}/status", tags=["admin"])
async def set_counter_status(counter_id: uuid.UUID, body: CounterStatusIn, request: Request) -> Response:
    return await call(request, "set_counter_status", {"counter_id": str(counter_id), **_args(body)})


@router.get("/audit-logs", tags=["admin"])
async def audit_logs(request: Request) -> Response:
    """api.list_audit_logs; query parameters are its arguments."""
    return await call(request, "list_audit_logs", _query(request), from_query=True)
