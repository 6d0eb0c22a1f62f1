"""The one time source of the stack: the wall clock, or a virtual clock for simulations.

Every time-dependent part of the stack (scrape loops, rule evaluation, ``for`` durations,
Alertmanager timers, silences, retention, the toy service's traffic model) is written as plain
asyncio code: it asks ``clock.now()`` for the time and ``await clock.sleep(...)`` to wait. That code
is the same in both modes; only the event loop underneath differs.

* ``WallClock`` is the ordinary asyncio loop and ``time.time()``: live demos.
* ``VirtualClock`` owns an asyncio event loop whose notion of time is a number we control. When
  nothing is ready to run, instead of blocking until the next timer is due, the loop *jumps* to it.
  "An alert fires after 5 minutes" then takes as long as the work between the timers, and the
  order of events depends only on the program (and its seeds), never on the machine's speed.

Why not a hand-rolled scheduler with callbacks: reusing asyncio means ``asyncio.sleep``,
``asyncio.wait_for`` timeouts, queues and tasks all work unchanged in virtual time, so no component
needs a second implementation for simulations. (The ``looptime`` package does something similar
for tests; we keep our own ~60 lines so participants can read how it works.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import selectors
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class Clock:
    """What components depend on: the current time and a way to wait."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        raise NotImplementedError

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for measuring how long something took."""
        return time.monotonic()

    def sleep(self, seconds: float) -> Awaitable[None]:
        """Wait ``seconds`` (``await clock.sleep(...)``): asyncio's own sleep, handed out directly
        rather than wrapped in a coroutine of ours, as every simulated request takes this path."""
        return asyncio.sleep(max(0.0, seconds))

    def sleep_until(self, t: float) -> Awaitable[None]:
        return self.sleep(t - self.now())

    @property
    def is_virtual(self) -> bool:
        return False


class WallClock(Clock):
    """Real time, for the live stack."""

    def now(self) -> float:
        return time.time()


class VirtualClock(Clock):
    """Simulated time, advanced by the event loop it owns whenever that loop would otherwise wait.

    ``start`` is the epoch time (seconds) the simulation begins at. Use :meth:`run` to execute a
    coroutine on the virtual loop, or :meth:`advance` to let everything scheduled run for a span
    of virtual time.
    """

    def __init__(self, start: float = 1_700_000_000.0):
        self._now = float(start)
        self.loop = _VirtualEventLoop(self)

    @property
    def is_virtual(self) -> bool:
        return True

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        """Virtual time does not pass while code runs: work measured with this takes no time, so a
        simulation's duration metrics repeat exactly."""
        return self._now

    def run(self, coro: Awaitable[T]) -> T:
        """Run ``coro`` to completion on the virtual loop (from a thread with no running loop)."""
        return self.loop.run_until_complete(coro)

    def advance(self, seconds: float, progress: Callable[[float], None] | None = None) -> None:
        """Let all scheduled work run until ``seconds`` of virtual time have passed.

        ``progress`` (optional) is called with the virtual time reached, at most every ~1% of the
        span, so callers can draw a progress bar without the clock knowing about terminals.
        """
        end = self._now + seconds

        async def _until_end() -> None:
            if progress is None:
                await asyncio.sleep(end - self._now)
                return
            step = max(seconds / 100.0, 1.0)
            while self._now < end:
                await asyncio.sleep(min(step, end - self._now))
                progress(self._now)

        self.run(_until_end())

    def close(self) -> None:
        if not self.loop.is_closed():
            _cancel_all(self.loop)
            self.loop.close()

    # Called by the selector: the loop had nothing to do for ``seconds``.
    def _jump(self, seconds: float) -> None:
        self._now += seconds


_POLL_EVERY_BUSY_TURNS = 64  # a system call per loop turn would be a tenth of a simulation's time


class _VirtualSelector(selectors.DefaultSelector):
    """A selector that polls real file descriptors without blocking and otherwise jumps time.

    The loop's own self-pipe stays a real descriptor so ``call_soon_threadsafe`` from other
    threads (a notebook's main thread, say) still wakes the loop while it is idle.
    """

    def __init__(self, clock: VirtualClock):
        super().__init__()
        self._clock = clock
        self._busy_turns = 0

    def select(self, timeout: float | None = None):
        if timeout is None:  # no timer at all: only another thread can give us work
            return super().select(None)
        if timeout == 0:  # work is ready: now and then drain the self-pipe (and any real socket)
            self._busy_turns += 1
            return [] if self._busy_turns % _POLL_EVERY_BUSY_TURNS else super().select(0)
        # Nothing is ready before the next timer: jump to it. No poll here, on purpose: this is the
        # hot path of a simulation (hundreds of thousands of turns an hour), and a callback another
        # thread queues meanwhile is in the loop's ready queue and runs on the next turn anyway.
        self._clock._jump(timeout)
        return []


class _VirtualEventLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: VirtualClock):
        self._virtual_clock = clock
        super().__init__(selector=_VirtualSelector(clock))
        # asyncio runs a timer once it is due before time() + resolution. At epoch-sized times
        # (1.7e9 s) adjacent floats are ~2.4e-7 apart, so the monotonic clock's 1e-9 resolution
        # would add nothing and a due timer would never count as due: use a microsecond.
        self._clock_resolution = 1e-6

    def time(self) -> float:  # asyncio schedules every timer against this
        return self._virtual_clock._now


async def cancel_and_wait(*tasks: asyncio.Future | None) -> None:
    """Cancel ``tasks`` (None ones are skipped) and wait until all have finished.

    How every component stops its background loops: what the tasks end with (their cancellation,
    or an error they were already failing with) is not raised, so stopping never fails halfway.
    """
    running = [t for t in tasks if t is not None]
    for t in running:
        t.cancel()
    await asyncio.gather(*running, return_exceptions=True)


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if tasks:
        outside_running_loop(loop.run_until_complete, cancel_and_wait(*tasks))
    outside_running_loop(loop.run_until_complete, loop.shutdown_asyncgens())


def outside_running_loop(fn: Callable[..., T], *args) -> T:
    """Call ``fn(*args)`` here, or in a short-lived helper thread when this thread runs a loop.

    A Jupyter kernel runs its own asyncio loop in the main thread, and a loop cannot be run from
    inside another: a virtual clock driven from a notebook cell (a Simulation, promtool's rule tests)
    then runs in a helper thread while the cell waits for it.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="virtual-clock") as pool:
        return pool.submit(fn, *args).result()


class LoopThread:
    """Runs an event loop in a background thread, for notebooks whose main thread has its own loop.

    Jupyter kernels already run an asyncio loop in the main thread, so a stack started from a
    notebook cell lives in this thread instead; ``submit`` hands it coroutines and waits for results.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, name: str = "stack-loop"):
        self.loop = loop or asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Awaitable[T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.loop.is_closed():
            return

        async def _shutdown() -> None:
            current = asyncio.current_task()
            await cancel_and_wait(*(t for t in asyncio.all_tasks() if t is not current and not t.done()))

        try:
            self.submit(_shutdown(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            self.loop.close()
