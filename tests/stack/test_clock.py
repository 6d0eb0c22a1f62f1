import asyncio

from stack.clock import VirtualClock


def test_virtual_clock_jumps_to_next_timer_and_keeps_order():
    clock = VirtualClock(start=1000.0)
    fired: list[tuple[str, float]] = []

    async def ticker(name: str, every: float) -> None:
        while True:
            await clock.sleep(every)
            fired.append((name, clock.now()))

    async def main() -> None:
        tasks = [asyncio.ensure_future(ticker("a", 5)), asyncio.ensure_future(ticker("b", 7))]
        await clock.sleep(16)
        for t in tasks:
            t.cancel()

    clock.run(main())
    assert fired == [("a", 1005.0), ("b", 1007.0), ("a", 1010.0), ("b", 1014.0), ("a", 1015.0)]
    assert clock.now() == 1016.0
    clock.close()


def test_wait_for_timeouts_run_in_virtual_time():
    clock = VirtualClock(start=0.0)

    async def main() -> float:
        try:
            await asyncio.wait_for(asyncio.sleep(3600), timeout=10)
        except TimeoutError:
            return clock.now()
        return -1.0

    assert clock.run(main()) == 10.0
    clock.close()


def test_advance_reports_progress_and_reaches_the_end():
    clock = VirtualClock(start=0.0)
    seen: list[float] = []
    clock.advance(3600, progress=seen.append)
    assert clock.now() == 3600.0
    assert seen[-1] == 3600.0 and len(seen) == 100
    clock.close()


def test_timers_fire_at_epoch_sized_times():
    clock = VirtualClock()  # default start: a realistic Unix time
    start = clock.now()
    clock.advance(10)
    assert clock.now() == start + 10
    clock.run(asyncio.sleep(5))
    assert clock.now() == start + 15
    clock.close()
