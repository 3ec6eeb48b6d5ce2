"""The OpenAPI document of the REST API at `/openapi.json`, and its docs page at `/docs`."""

from __future__ import annotations

import functools

import orjson
from aiohttp import web

from server.openapi.document import openapi_document
from server.routes.pages import STATIC_DIR, page_response

routes = web.RouteTableDef()

# The page renders the document with Swagger UI, vendored in static/vendor/.
HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


@routes.get("/openapi.json")
async def openapi_json(_request: web.Request) -> web.Response:
    """Return the OpenAPI 3.1 document of the REST API; it needs no token."""
    return web.Response(body=_document_json(), content_type="application/json", headers=HEADERS)


@routes.get("/docs")
async def docs_page(_request: web.Request) -> web.FileResponse:
    """Serve the page that renders /openapi.json; it needs no token."""
    return page_response(STATIC_DIR / "docs.html")


@functools.cache
def _document_json() -> bytes:
    # The document depends on the code alone, so one process builds it once.
    return orjson.dumps(openapi_document())
