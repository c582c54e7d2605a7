"""What every browser test shares: Debian's Chromium driven by Playwright (the module that imports this is
skipped, with the reason, when either is missing), its launch flags, the `browser` fixture and the list of
problems a page reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )
async_api = pytest.importorskip(
    "playwright.async_api", reason="browser tests need Playwright's Python package (pip install playwright)"
)
expect, async_playwright = async_api.expect, async_api.async_playwright
expect.set_options(timeout=10_000)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(name="browser")
async def browser_fixture() -> AsyncIterator[Any]:
    """Chromium for one test (import `browser_fixture` to use `browser` in a module)."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        await chromium.close()


class Problems(list[str]):
    """Script errors, console errors and dialogs on a page (an alert() would mean injected script ran)."""
