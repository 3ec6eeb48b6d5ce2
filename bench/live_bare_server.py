"""The baseline for the live-channel benchmarks: bare python-socketio on aiohttp.

It has what our server's Socket.IO side needs for the same clients and nothing more: the
stock `socketio.AsyncRedisManager` on one channel, and a connect handler that checks the
access token's signature with JWT_SECRET and joins the socket to `user:<id>`. No event
history, no per-socket ordering, no per-room channels.

    JWT_SECRET=... bench/.venv/bin/python bench/live_bare_server.py --port 8100 --channel c
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

import jwt
import socketio
from aiohttp import web
from live_common import REDIS_URL

log = logging.getLogger("bare")


def create_app(channel: str, secret: str) -> web.Application:
    manager = socketio.AsyncRedisManager(REDIS_URL, channel=channel)
    sockets = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager)

    async def connect(sid: str, _environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            claims = jwt.decode(token or "", secret, algorithms=["HS256"])
        except jwt.InvalidTokenError as error:
            raise socketio.exceptions.ConnectionRefusedError(f"invalid token: {error}") from None
        await sockets.enter_room(sid, f"user:{claims['sub']}")

    sockets.on("connect", connect)

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def close_sockets(_app: web.Application) -> None:
        await sockets.shutdown()

    app = web.Application()
    sockets.attach(app)
    app.router.add_get("/health", health)
    app.on_shutdown.append(close_sockets)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8100")))
    parser.add_argument("--channel", required=True, help="the Redis channel of the deployment")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    app = create_app(args.channel, os.environ["JWT_SECRET"])
    web.run_app(
        app, host="127.0.0.1", port=args.port, shutdown_timeout=5, print=None, access_log=None
    )


if __name__ == "__main__":
    main()
