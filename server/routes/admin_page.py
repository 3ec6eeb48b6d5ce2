"""The operators' job dashboard page at `/admin`, and its script and style sheet."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.errors import NotFound

routes = web.RouteTableDef()

PAGE_DIR = Path(__file__).resolve().parent.parent / "static" / "admin"
# The only files served under /admin/assets/, with their content types.
ASSETS = {
    "admin.js": "text/javascript; charset=utf-8",
    "admin.css": "text/css; charset=utf-8",
}
# The page loads its script and style from this server and calls only this server.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# No version in the file names: browsers revalidate each load and get a 304 when unchanged.
HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


@routes.get("/admin")
async def dashboard(_request: web.Request) -> web.FileResponse:
    """Serve the dashboard page; it logs in and reads the /admin API itself."""
    headers = {
        **HEADERS,
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Referrer-Policy": "no-referrer",
    }
    return web.FileResponse(PAGE_DIR / "index.html", headers=headers)


@routes.get("/admin/assets/{name}")
async def asset(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    content_type = ASSETS.get(name)
    if content_type is None:
        raise NotFound(f"admin asset {name!r} not found")
    return web.FileResponse(PAGE_DIR / name, headers={**HEADERS, "Content-Type": content_type})
