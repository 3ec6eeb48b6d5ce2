"""Run the `nappatzim` command on uvloop: `serve_uvloop.py serve` is `nappatzim serve`.

The server code is unchanged. uvloop's event loop policy is installed first, so the loop that
aiohttp's run_app creates is a uvloop loop.
"""

from __future__ import annotations

import sys

import uvloop

from server.cli import main

if __name__ == "__main__":
    uvloop.install()
    sys.exit(main(sys.argv[1:]))
