"""Rate limits for the public posts (the intake form, the customer's page), per client address.

In process, in fixed windows: enough to stop one address guessing tokens or flooding the form
from a script, with no shared store to run. Each API process counts on its own, so N processes
allow N times the limit. The address is the connection's peer: behind a reverse proxy, let the
proxy limit too (uvicorn runs without proxy headers, so every client would share its address).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import JSONResponse

from api.errors import error_response


class RateLimiter:
    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self._clock = limit, window, clock
        self._window_index = -1
        self._counts: dict[str, int] = {}

    def allow(self, request: Request) -> bool:
        """Count this request against its address; False once the address is over the limit."""
        index = int(self._clock() // self.window)
        if index != self._window_index:
            # A new window: forget every address at once, so memory holds one window's worth.
            self._window_index, self._counts = index, {}
        address = request.client.host if request.client else ""
        self._counts[address] = count = self._counts.get(address, 0) + 1
        return count <= self.limit

    def retry_after(self) -> int:
        return max(1, math.ceil(self.window - self._clock() % self.window))

    def refused(self) -> JSONResponse:
        message = f"too many posts from this address: at most {self.limit} per {self.window:g} s"
        return error_response(
            429,
            message,
            [{"field": "client", "rule": "rate_limit", "message": message}],
            headers={"Retry-After": str(self.retry_after())},
        )
