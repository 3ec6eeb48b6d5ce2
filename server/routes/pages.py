"""The live workout page at `/` and the static files it loads from `/static/`."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.errors import NotFound

routes = web.RouteTableDef()

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# The file names carry no version, so browsers revalidate each file (ETag, Last-Modified)
# on every load and get a 304 when it is unchanged.
CACHE_CONTROL = "no-cache"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".LICENSE": "text/plain; charset=utf-8",
}
# The pages load scripts, styles and sockets from this server only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@routes.get("/")
async def index(_request: web.Request) -> web.FileResponse:
    """Serve the live workout page."""
    return page_response(STATIC_DIR / "index.html")


@routes.get("/static/{path:.+}")
async def static_file(request: web.Request) -> web.FileResponse:
    """Serve a file of the page from the package's static folder."""
    relative = request.match_info["path"]
    path = (STATIC_DIR / relative).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        raise NotFound(f"static file {relative!r} not found")
    return file_response(path)


def page_response(path: Path) -> web.FileResponse:
    """Serve an HTML page that may load and call nothing but this server."""
    response = file_response(path)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def file_response(path: Path, content_type: str | None = None) -> web.FileResponse:
    """Serve a file with its content type, revalidated by the browser on each load."""
    headers = {"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
    content_type = content_type or CONTENT_TYPES.get(path.suffix)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return web.FileResponse(path, headers=headers)
