"""How a `complaints` process ends: its command done, out without finalizing the interpreter.

Temporal's client runs threads of its own (the SDK's Rust runtime) that Python does not stop.
One of them can reach for the interpreter while it is being finalized, and the process then
aborts after its command has done its work ("Fatal Python error: PyGILState_Release: thread
state ... must be current when releasing", SIGABRT; temporalio/sdk-python#300): a script sees a
command that succeeded fail (`complaints schedules` against a running engine aborted in 3 of 60
runs here). So the process ends with os._exit, once it has done itself what finalization does
that matters here: the traces exported, the logs and the output flushed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from engine.tracing import shut_down_tracing

# A process stopped by Ctrl-C outside the command's own handling: 128 + SIGINT, as shells report.
INTERRUPTED = 130


def run_then_exit(main: Callable[[], object]) -> NoReturn:
    """Run `main`, then end the process with the status the interpreter would have given it."""
    try:
        main()
        status = 0
    except SystemExit as exiting:
        status = exit_status(exiting.code)
    except KeyboardInterrupt:
        status = INTERRUPTED
    except BaseException:
        sys.excepthook(*sys.exc_info())  # the traceback, as the interpreter would print it
        status = 1
    _flush()
    os._exit(status)


def exit_status(code: object) -> int:
    """sys.exit's argument as the interpreter turns it into a status: None is 0, an int is
    itself, anything else is printed to stderr and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _flush() -> None:
    try:
        shut_down_tracing()  # its batch processor exports what it holds (an atexit hook otherwise)
    except Exception:
        sys.excepthook(*sys.exc_info())  # as a failing atexit hook is: told, the status kept
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: nothing left to tell anyone
            stream.flush()
