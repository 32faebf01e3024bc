"""Browser end-to-end fixtures: one `streamlit run app.py` on a free localhost port
for the whole session, driven by Debian's Chromium through Playwright.

Outside CI a missing Chromium skips these tests with the reason; with CI=true it
fails them, so a CI run can never pass without having used a browser."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser import chromium_path, launch_chromium, projector_tab

ROOT = Path(__file__).resolve().parents[2]



def _need(reason: str):
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI=true and the browser tests can't run: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    yield from _serve("streamlit-server.log")


@pytest.fixture
def fresh_app_url():
    """A server of its own that nobody has visited yet."""
    yield from _serve("streamlit-fresh-server.log")


def _serve(log_name):
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    log = open(ROOT / "tests" / "e2e" / log_name, "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                pytest.fail(f"streamlit run app.py did not start; see tests/e2e/{log_name}")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="session")
def browser():
    if not chromium_path():
        _need("Debian's chromium is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("the playwright package is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh tab at 1280×720 (a projector), failing the test on any exception box."""
    tab = projector_tab(browser, app_url)
    yield tab
    tab.context.close()
