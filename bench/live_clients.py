"""A process of Socket.IO clients for the fan-out and memory benchmarks, driven over stdin.

It reads a JSON spec file, `{"clients": [{"url": ..., "auth": {...}}, ...], "kind": "raw"}`,
connects every client with the websocket transport, then prints one JSON line per command
it reads on stdin:

- `report`: the `bench:tick` events received since the last report, per phase: their count,
  the first and last receive time and each latency, in microseconds, from the `sentAt` in
  the event (time.monotonic() in the publisher, a clock every process on the machine shares),
  and how many clients are still connected;
- `disconnect`: disconnects every client;
- `quit`, or end of input: disconnects and exits.

Two kinds of client: `socketio` is python-socketio's `AsyncClient`, which starts an asyncio
task for every message it receives. `raw` speaks Engine.IO 4 and Socket.IO 5 over one aiohttp
websocket itself: it joins the default namespace with `auth`, answers pings and decodes
events, and does nothing else. It costs a fraction of the CPU per message, so two cores can
drive the servers harder.

    bench/.venv/bin/python bench/live_clients.py SPEC.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import orjson
import socketio
from live_common import run

EVENT = "bench:tick"
CONNECT_TIMEOUT_SECONDS = 30
# Engine.IO packet types are one digit; Socket.IO's follow inside MESSAGE packets ("4").
EIO_OPEN, EIO_PING, EIO_PONG = "0", "2", "3"
SIO_CONNECT, SIO_EVENT, SIO_CONNECT_ERROR = "40", "42", "44"


@dataclass
class Phase:
    count: int = 0
    first: float = float("inf")
    last: float = 0.0
    latencies_us: list[int] = field(default_factory=list)


class Receiver:
    def __init__(self) -> None:
        self.phases: dict[str, Phase] = defaultdict(Phase)
        self.malformed = 0

    def on_tick(self, data: Any) -> None:
        received = time.monotonic()
        try:
            phase = self.phases[data["phase"]]
            sent_at = float(data["sentAt"])
        except (TypeError, KeyError, ValueError):
            self.malformed += 1
            return
        phase.count += 1
        phase.first = min(phase.first, received)
        phase.last = max(phase.last, received)
        phase.latencies_us.append(int((received - sent_at) * 1e6))

    def report(self) -> dict[str, Any]:
        phases = {
            name: {
                "count": phase.count,
                "first": phase.first,
                "last": phase.last,
                "latencies_us": phase.latencies_us,
            }
            for name, phase in self.phases.items()
        }
        self.phases = defaultdict(Phase)
        return {"type": "report", "phases": phases, "malformed": self.malformed}


class Client(Protocol):
    @property
    def connected(self) -> bool: ...

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...


class SocketIOClient:
    """python-socketio's AsyncClient on the websocket transport."""

    def __init__(self, spec: dict[str, Any], receiver: Receiver):
        self.spec = spec
        self.client = socketio.AsyncClient(reconnection=False)

        async def on_tick(data: Any) -> None:
            receiver.on_tick(data)

        self.client.on(EVENT, on_tick)

    @property
    def connected(self) -> bool:
        return bool(self.client.connected)

    async def connect(self) -> None:
        await self.client.connect(
            self.spec["url"],
            auth=self.spec.get("auth"),
            transports=["websocket"],
            wait_timeout=CONNECT_TIMEOUT_SECONDS,
        )

    async def disconnect(self) -> None:
        await self.client.disconnect()


class RawClient:
    """A minimal Engine.IO 4 / Socket.IO 5 websocket client for the default namespace."""

    def __init__(self, spec: dict[str, Any], receiver: Receiver, http: aiohttp.ClientSession):
        self.spec = spec
        self.receiver = receiver
        self.http = http
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed

    async def connect(self) -> None:
        url = self.spec["url"].replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        self.ws = await self.http.ws_connect(url, autoping=True, max_msg_size=0)
        opened = await self.ws.receive_str(timeout=CONNECT_TIMEOUT_SECONDS)
        if not opened.startswith(EIO_OPEN):
            raise ConnectionError(f"expected an Engine.IO open packet, received {opened[:80]!r}")
        await self.ws.send_str(SIO_CONNECT + json.dumps(self.spec.get("auth") or {}))
        while True:
            reply = await self.ws.receive_str(timeout=CONNECT_TIMEOUT_SECONDS)
            if reply == EIO_PING:
                await self.ws.send_str(EIO_PONG)
            elif reply.startswith(SIO_CONNECT):
                break
            elif reply.startswith(SIO_CONNECT_ERROR):
                raise ConnectionError(f"connect rejected: {reply[2:]}")
            else:
                self.handle(reply)
        self.reader = asyncio.create_task(self.read())

    async def read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            if message.data == EIO_PING:
                await self.ws.send_str(EIO_PONG)
            else:
                self.handle(message.data)

    def handle(self, text: str) -> None:
        if text.startswith(SIO_EVENT):
            name, *arguments = orjson.loads(text[2:])
            if name == EVENT and arguments:
                self.receiver.on_tick(arguments[0])

    async def disconnect(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)


async def connect_all(clients: list[Client], concurrency: int) -> tuple[list[Client], list[str]]:
    """Connect the clients, `concurrency` at a time; return the connected ones and errors."""
    connected: list[Client] = []
    errors: list[str] = []
    gate = asyncio.Semaphore(concurrency)

    async def connect(client: Client) -> None:
        async with gate:
            try:
                await client.connect()
            except (socketio.exceptions.ConnectionError, aiohttp.ClientError, OSError) as error:
                errors.append(repr(error))
                await client.disconnect()
                return
        connected.append(client)

    await asyncio.gather(*(connect(client) for client in clients))
    return connected, errors


async def disconnect_all(clients: list[Client]) -> None:
    # engine.io's client logs "packet queue is empty, aborting" at ERROR for each disconnect.
    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
    gate = asyncio.Semaphore(100)

    async def disconnect(client: Client) -> None:
        async with gate:
            await client.disconnect()

    await asyncio.gather(*(disconnect(client) for client in clients), return_exceptions=True)
    clients.clear()


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def main(spec_path: str) -> None:
    with open(spec_path) as spec_file:
        spec = json.load(spec_file)
    receiver = Receiver()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        clients: list[Client]
        if spec.get("kind", "raw") == "raw":
            clients = [RawClient(item, receiver, http) for item in spec["clients"]]
        else:
            clients = [SocketIOClient(item, receiver) for item in spec["clients"]]
        started = time.monotonic()
        clients, errors = await connect_all(clients, spec.get("concurrency", 50))
        emit(
            {
                "type": "connected",
                "ok": len(clients),
                "failed": len(errors),
                "errors": errors[:5],
                "seconds": round(time.monotonic() - started, 2),
            }
        )

        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := (await reader.readline()).decode().strip():
            if line == "report":
                connected = sum(client.connected for client in clients)
                emit({**receiver.report(), "connected": connected})
            elif line == "disconnect":
                await disconnect_all(clients)
                emit({"type": "disconnected"})
            elif line == "quit":
                break
            else:
                emit({"type": "error", "message": f"unknown command {line!r}"})
        await disconnect_all(clients)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("spec", help="JSON file with the clients to connect")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    run(main(arguments.spec))
