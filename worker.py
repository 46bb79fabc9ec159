"""The worker's entry point (`complaints worker`, the image's command): settings, logging and
signals; the worker is assembled in engine.worker_assembly, its parts in engine.composition."""

from __future__ import annotations

import asyncio
import signal

from engine.composition import load_settings
from engine.worker_assembly import serve
from entrypoints.process_exit import run_then_exit


async def main() -> None:
    settings = load_settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)


if __name__ == "__main__":
    run_then_exit(lambda: asyncio.run(main()))
