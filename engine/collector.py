"""Fewer long stops of the worker for Python's garbage collector.

A full collection stops the whole process while it scans every object that has survived the
younger ones. A worker holding thousands of complaints in its cache holds about 170 such objects
per complaint: a full collection took 0.29 s with 1,500 cached and 0.87 s with 6,000
(bench/workflow_memory.py), and every deadline due meanwhile is escalated that much late. Python
runs one each time that heap has grown by a quarter, so a filling cache meets a series of them,
each longer than the last (at 15 complaints/s the breaches' p99 lateness was one such stop).

FrozenSurvivors freezes what survives each full collection (gc.freeze): later ones scan only the
objects made since, and stay short. A frozen object is still freed as soon as nothing refers to
it; what freezing keeps is garbage in reference cycles. So once the frozen heap has grown to
`growth` times what the last whole scan left, it is unfrozen, and the next full collection scans
everything again and frees that garbage. The stops over the whole heap come at each doubling
instead of at each quarter, and never when the heap stays the size it is.
"""

from __future__ import annotations

import gc
from typing import Any


class FrozenSurvivors:
    def __init__(self, growth: float = 2.0) -> None:
        if growth <= 1:
            raise ValueError(f"growth: must be more than 1, got {growth}")
        self._growth = growth
        self._after_whole_scan: int | None = None  # frozen objects the last whole scan left
        self._whole_scan_next = True  # nothing is frozen yet: the next collection sees it all

    def install(self) -> None:
        gc.callbacks.append(self._collected)

    def uninstall(self) -> None:
        """Stop, and give the frozen objects back to the collector."""
        if self._collected in gc.callbacks:
            gc.callbacks.remove(self._collected)
        gc.unfreeze()

    def _collected(self, phase: str, info: dict[str, Any]) -> None:
        # Called by the collector before and after each collection; freezing and unfreezing
        # only move objects between its lists, which is safe once a collection has ended. (No
        # logging here: the collection may have begun inside a log call.)
        if phase != "stop" or info["generation"] != 2:
            return
        gc.freeze()
        frozen = gc.get_freeze_count()
        if self._whole_scan_next:
            self._after_whole_scan, self._whole_scan_next = frozen, False
        elif frozen > self._growth * (self._after_whole_scan or 0):
            gc.unfreeze()
            self._whole_scan_next = True
