"""The outbox steps aside while requests are in flight, for a bounded time."""

from __future__ import annotations

import asyncio

from bot.outbox.pressure import NoPressure, RequestPressure


async def test_step_aside_returns_at_once_with_no_request_in_flight() -> None:
    pressure = RequestPressure(quiet_after=0.0, max_yield=30.0)
    await asyncio.wait_for(pressure.step_aside(), timeout=5)
    assert not pressure.busy()


async def test_step_aside_waits_for_the_requests_in_flight_to_end() -> None:
    pressure = RequestPressure(quiet_after=0.0, max_yield=30.0)
    order: list[str] = []

    async def outbox() -> None:
        await pressure.step_aside()
        order.append("send")

    with pressure.request():
        with pressure.request():
            task = asyncio.create_task(outbox())
            await asyncio.sleep(0.05)
            order.append("first request answered")
        await asyncio.sleep(0.05)
        order.append("second request answered")
    await asyncio.wait_for(task, timeout=5)
    assert order == ["first request answered", "second request answered", "send"]
    assert pressure.in_flight == 0


async def test_under_a_burst_that_never_ends_the_outbox_still_sends_after_max_yield() -> None:
    pressure = RequestPressure(quiet_after=0.0, max_yield=0.05)
    with pressure.request():
        await asyncio.wait_for(pressure.step_aside(), timeout=5)  # did not wait for the end
        assert pressure.busy()


async def test_a_request_that_fails_still_counts_as_ended() -> None:
    pressure = RequestPressure(quiet_after=0.0)
    try:
        with pressure.request():
            raise ValueError("the handler broke")
    except ValueError:
        pass
    assert pressure.in_flight == 0 and not pressure.busy()


async def test_where_no_request_is_served_the_outbox_never_waits() -> None:
    pressure = NoPressure(max_yield=30.0)
    with pressure.request():
        await asyncio.wait_for(pressure.step_aside(), timeout=5)
