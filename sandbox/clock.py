"""The sandbox's own clock: wall time plus an offset, or frozen for deterministic tests."""

from __future__ import annotations

import time


class SandboxClock:
    """Time for every object that is not on a Stripe test clock."""

    def __init__(self, frozen_time: int | None = None) -> None:
        self.frozen = frozen_time
        self.offset = 0

    def now(self) -> int:
        if self.frozen is not None:
            return self.frozen + self.offset
        return int(time.time()) + self.offset

    def advance(self, seconds: int) -> int:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self.offset += seconds
        return self.now()
