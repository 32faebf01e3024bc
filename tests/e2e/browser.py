"""Helpers for the browser tests: `from browser import open_page, ...` in tests/e2e."""

import shutil
import time
from pathlib import Path

SHOTS = Path(__file__).resolve().parent / "screenshots"

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright):
    """Debian's Chromium, headless (playwright's own browser downloads can't reach the internet here)."""
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)


def projector_tab(browser, app_url: str, timeout_ms: int = 30_000):
    """A fresh tab at a projector's 1280x720 that knows the app's address (tab.app_url)."""
    tab = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    tab.set_default_timeout(timeout_ms)
    tab.app_url = app_url
    return tab


def open_page(tab, url_path: str = ""):
    """Open a page of the app and wait until Streamlit has finished running it."""
    tab.goto(f"{tab.app_url}/{url_path}")
    tab.wait_for_selector('[data-testid="stApp"]')
    # On a busy machine the script run can start after wait_idle's first look: wait for the page
    # to have drawn something of its own first.
    tab.wait_for_selector('[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]')
    wait_idle(tab)


def wait_idle(tab, timeout: float = 60):
    """Wait for the script run to finish (the status widget shows 'Running' while busy)."""
    tab.wait_for_timeout(300)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if tab.locator('[data-testid="stStatusWidget"]').count() == 0:
            break
        tab.wait_for_timeout(200)
    tab.wait_for_timeout(300)


def assert_no_exception(tab):
    boxes = tab.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()


def screenshot(tab, name: str):
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
