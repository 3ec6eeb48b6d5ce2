"""The operators' job dashboard page at `/admin`, and its script and style sheet."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.errors import NotFound
from server.routes.pages import file_response, page_response

routes = web.RouteTableDef()

PAGE_DIR = Path(__file__).resolve().parent.parent / "static" / "admin"
# The only files served under /admin/assets/, with their content types.
ASSETS = {
    "admin.js": "text/javascript; charset=utf-8",
    "admin.css": "text/css; charset=utf-8",
}


@routes.get("/admin")
async def dashboard(_request: web.Request) -> web.FileResponse:
    """Serve the dashboard page; it logs in and reads the /admin API itself."""
    return page_response(PAGE_DIR / "index.html")


@routes.get("/admin/assets/{name}")
async def asset(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    content_type = ASSETS.get(name)
    if content_type is None:
        raise NotFound(f"admin asset {name!r} not found")
    return file_response(PAGE_DIR / name, content_type)
