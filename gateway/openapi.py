"""OpenAPI document: FastAPI's routes plus one path per ``api`` function (``/rpc/<fn>``), rebuilt when the
catalog changes; and the Swagger UI page at ``/docs``, whose script and styles are served from the
``swagger-ui-bundle`` package under ``/docs/assets`` (the page loads with no internet access)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from gateway.db import Arg, Catalog, Function

SCALARS: dict[str, dict[str, Any]] = {
    "uuid": {"type": "string", "format": "uuid"},
    "text": {"type": "string"},
    "character varying": {"type": "string"},
    "citext": {"type": "string"},
    "integer": {"type": "integer", "format": "int32"},
    "smallint": {"type": "integer"},
    "bigint": {"type": "integer", "format": "int64"},
    "numeric": {"type": "number"},
    "real": {"type": "number"},
    "double precision": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "timestamp with time zone": {"type": "string", "format": "date-time"},
    "timestamp without time zone": {"type": "string"},
    "interval": {"type": "string"},
    "bytea": {"type": "string"},
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "reason key (docs/error_codes.md) or SQLSTATE"},
        "message": {"type": "string"},
        "details": {},
        "hint": {"type": ["string", "null"]},
        "request_id": {"type": ["string", "null"]},
    },
    "required": ["code", "message"],
}


def schema_of(arg: Arg) -> dict[str, Any]:
    if arg.is_json:
        return {}
    if arg.is_array:
        base = Arg(arg.name, arg.type[:-2], arg.has_default)
        return {"type": "array", "items": schema_of(base)}
    return dict(SCALARS.get(arg.type, {"type": "string"}))


def _responses(fn: Function) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": f"returns {'setof ' if fn.returns_set else ''}{fn.return_type}"}
    if not fn.returns_void:
        ok["content"] = {"application/json": {"schema": {}}}
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "204" if fn.returns_void else "200": ok,
        "4XX": {"description": "client error", **err},
        "5XX": {"description": "server error", **err},
    }


def rpc_paths(catalog: Catalog) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for name, overloads in sorted(catalog.functions.items()):
        fn = overloads[0]
        summary = (fn.description or f"api.{name}").split("\n")[0][:200]
        body = {
            "type": "object",
            "properties": {a.name: schema_of(a) for a in fn.args},
            "required": sorted(fn.required),
            "additionalProperties": False,
        }
        item: dict[str, Any] = {
            "post": {
                "tags": ["rpc"],
                "operationId": f"rpc_{name}_post",
                "summary": summary,
                "requestBody": {"required": False, "content": {"application/json": {"schema": body}}},
                "responses": _responses(fn),
            }
        }
        if not fn.required:
            item["post"]["requestBody"]["required"] = False
        if fn.readonly:
            item["get"] = {
                "tags": ["rpc"],
                "operationId": f"rpc_{name}_get",
                "summary": summary,
                "parameters": [
                    {"name": a.name, "in": "query", "required": not a.has_default, "schema": _query_schema(a)}
                    for a in fn.args
                ],
                "responses": _responses(fn),
            }
        paths[f"/rpc/{name}"] = item
    return paths


def _query_schema(arg: Arg) -> dict[str, Any]:
    # Query values are strings: arrays as Postgres literals ({a,b}), JSON as JSON text.
    if arg.is_json or arg.is_array:
        return {"type": "string"}
    return schema_of(arg)


ERROR_RESPONSE: dict[str, Any] = {
    "description": "error {code, message, details, hint, request_id}: see docs/error_codes.md",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def document_errors(paths: dict[str, Any]) -> None:
    """Every route answers its errors with the one error body and a 4xx status (validation errors are 400
    ``INVALID_REQUEST``, not FastAPI's 422), or a 5xx when the server fails (``/readyz`` documents its own)."""
    for item in paths.values():
        for operation in item.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in [s for s in responses if s.startswith("4")]:
                responses[status] = {**ERROR_RESPONSE, "description": responses[status].get("description", "")}
            responses["4XX"] = ERROR_RESPONSE
            responses.setdefault("5XX", ERROR_RESPONSE)


def install(app: FastAPI, catalog_of: Any) -> None:
    """Replace ``app.openapi`` with a builder that adds the rpc paths of the current catalog."""
    cache: dict[str, Any] = {}

    def build() -> dict[str, Any]:
        catalog: Catalog = catalog_of()
        if cache.get("version") == catalog.version and "doc" in cache:
            doc: dict[str, Any] = cache["doc"]
            return doc
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = doc.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        document_errors(doc.setdefault("paths", {}))
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        doc["paths"].update(rpc_paths(catalog))
        schemas["Error"] = ERROR_SCHEMA
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        doc["security"] = [{}, {"bearer": []}]
        cache["version"] = catalog.version
        cache["doc"] = doc
        return doc

    app.openapi = build  # type: ignore[method-assign]


DOCS_ASSETS = "/docs/assets"


def install_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI over ``/openapi.json``, every asset served by the gateway itself."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} — API docs",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)
