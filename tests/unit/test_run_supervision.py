"""How `complaints run` tells which part ended first, and what it says (entrypoints.local): the
worker failing is the case no real process here can be made to show on demand, so its task is
stood in for by one that fails; the dev server is a real process."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from engine.settings import Settings
from entrypoints.local import DEV_SERVER, first_to_end, why_it_ended

AFTERWARDS = "everything was stopped, and a restart keeps every complaint"


async def failing() -> None:
    await asyncio.sleep(0)  # started, then fails
    raise RuntimeError("poller gone")


def waiting_process() -> subprocess.Popen:
    """A process that runs until it is killed: it waits for input that never comes."""
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )


def serving_forever() -> asyncio.Task:
    return asyncio.create_task(asyncio.Event().wait())


async def test_the_part_that_ends_first_is_named_and_a_stop_is_none():
    server, stop = waiting_process(), asyncio.Event()
    serving = serving_forever()
    try:
        running = {"the worker": asyncio.create_task(failing()), "the API": serving}
        assert await first_to_end(stop, running, server) == "the worker"
        stop.set()
        assert await first_to_end(stop, {"the API": serving}, server) is None
    finally:
        serving.cancel()
        server.kill()
        server.wait()


async def test_the_dev_server_ending_is_seen_within_a_second_or_so():
    server, stop = waiting_process(), asyncio.Event()
    serving = serving_forever()
    try:
        server.kill()
        async with asyncio.timeout(5):
            assert await first_to_end(stop, {"the API": serving}, server) == DEV_SERVER
    finally:
        serving.cancel()
        server.wait()


def test_what_it_says(tmp_path, capsys):
    settings = Settings(data_dir=tmp_path)
    failed = {"the worker": RuntimeError("poller gone"), "the API": None}
    assert why_it_ended("the worker", failed, settings) == (
        f"the worker failed (RuntimeError, logged above); {AFTERWARDS}"
    )
    assert "poller gone" in capsys.readouterr().out  # the error itself, with its traceback
    assert why_it_ended("the API", {"the API": None}, settings) == f"the API stopped; {AFTERWARDS}"
    assert why_it_ended(DEV_SERVER, {"the API": None}, settings) == (
        f"the Temporal dev server exited (its log: {tmp_path.resolve()}/temporal.log); {AFTERWARDS}"
    )
    # Asked to stop: nothing to say, unless a part failed on the way out.
    assert why_it_ended(None, {"the API": None}, settings) is None
    assert why_it_ended(None, failed, settings).startswith("the worker failed (RuntimeError")
