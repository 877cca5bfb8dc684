"""A retried webhook that arrives while the first is still being registered waits for it
(``channels.common.InFlight``), and a failed registration never leaves a waiter stuck."""

from __future__ import annotations

import asyncio

import pytest

from channels.common import InFlight


def test_a_retry_waits_until_the_first_is_registered() -> None:
    async def run() -> list[str]:
        flight = InFlight()
        seen: list[str] = []
        release = asyncio.Event()

        async def first() -> None:
            with flight.registering("phone-1"):
                await release.wait()
                seen.append("first registered")

        async def retry() -> None:
            await flight.wait("phone-1")
            seen.append("retry answered")

        one = asyncio.create_task(first())
        await asyncio.sleep(0)
        two = asyncio.create_task(retry())
        await asyncio.sleep(0.01)
        assert seen == []  # the retry is waiting
        assert "phone-1" in flight and "phone-9" not in flight
        release.set()
        await asyncio.gather(one, two)
        assert "phone-1" not in flight
        await flight.wait("phone-1")  # no longer in flight: returns at once
        return seen

    assert asyncio.run(run()) == ["first registered", "retry answered"]


def test_a_failed_registration_releases_its_waiters() -> None:
    async def run() -> None:
        flight = InFlight()

        async def first() -> None:
            with flight.registering("phone-2"):
                await asyncio.sleep(0.01)
                raise RuntimeError("refused")

        task = asyncio.create_task(first())
        await asyncio.sleep(0)
        await asyncio.wait_for(flight.wait("phone-2"), 1.0)
        with pytest.raises(RuntimeError, match="refused"):
            await task

    asyncio.run(run())


def test_another_contact_does_not_wait() -> None:
    async def run() -> None:
        flight = InFlight()
        with flight.registering("phone-3"):
            await asyncio.wait_for(flight.wait("phone-4"), 0.1)

    asyncio.run(run())
