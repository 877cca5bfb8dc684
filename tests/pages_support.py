"""The browser-test harness: Debian's Chromium driven by Playwright for Python against the
real service on a free loopback port.

Playwright's own browser download is not used: the system Chromium is launched as an
executable with a fresh user-data directory. Without a Chromium the browser tests are
skipped with the reason, unless ``YHTEYS_REQUIRE_BROWSER=1`` (CI) makes that a failure.
With ``YHTEYS_SCREENSHOTS=<dir>`` the tests save screenshots of the pages there (the
committed ones are in ``docs/pages/``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]
from playwright.async_api import async_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("YHTEYS_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def need_browser() -> str:
    path = chromium_path()
    if path is None:
        reason = "no Chromium found (/usr/bin/chromium; apt install chromium)"
        if os.environ.get("YHTEYS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"YHTEYS_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    return path


@pytest.fixture
async def browser_context() -> AsyncIterator[Any]:
    """A fresh Chromium profile (viewport 1280x800); pages are opened from it."""
    executable = need_browser()
    with tempfile.TemporaryDirectory(prefix="yhteys-chromium-") as profile:
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                profile,
                executable_path=executable,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 800},
                locale="en-GB",
                timezone_id="Europe/Helsinki",
            )
            context.set_default_timeout(10_000)
            try:
                yield context
            finally:
                await context.close()


async def assert_accessible(page: Any) -> None:
    """axe-core on the page as it is now: no WCAG 2.1 A or AA violations."""
    results = await Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
    found = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:5])
        for v in results.response["violations"]
    ]
    assert found == [], "\n".join(found)


async def screenshot(page: Any, name: str, full_page: bool = False) -> None:
    """Saves a screenshot when ``YHTEYS_SCREENSHOTS`` names a directory (docs/pages)."""
    folder = os.environ.get("YHTEYS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)
