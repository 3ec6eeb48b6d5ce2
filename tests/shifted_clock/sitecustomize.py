"""Run this process's wall clock CLOCK_SHIFT_SECONDS ahead of the real one, at normal speed.

Multi-process tests put this folder on PYTHONPATH, and Python imports `sitecustomize` at
start-up, so a real `nappatzim` process reads a chosen date without any change to its code.
time-machine shifts `time.time()`, `datetime.now()` and the other wall-clock reads but not
`time.monotonic()`, so asyncio timers and network timeouts keep real time.
"""

from __future__ import annotations

import os
import sys
import time

_shift = os.environ.get("CLOCK_SHIFT_SECONDS")
if _shift:
    try:
        import time_machine
    except ImportError:
        sys.stderr.write("CLOCK_SHIFT_SECONDS is set but time-machine is missing: pip install it\n")
        # Python only reports an ImportError from sitecustomize and starts anyway, so exit.
        raise SystemExit(2) from None
    time_machine.travel(time.time() + float(_shift), tick=True).start()
    # The shifted clock starts ticking at its first read: read it now, not after slow imports.
    time.time()
