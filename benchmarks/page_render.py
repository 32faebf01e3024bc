"""First render of every page on a fresh server, as a visitor sees it.

For each page: start `streamlit run app.py` anew, open the page in headless
Chromium, and time from navigation until the script run has finished and the
title is on screen; then the same page again on the now-warm server. Also prints
the server's resident memory after the first render.

    python benchmarks/page_render.py [url_path ...]
"""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from ui import registry  # noqa: E402

PAGES = [registry.url_path(entry) for entry in registry.PAGES]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
            return server, url
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def render_seconds(tab, url):
    start = time.perf_counter()
    tab.goto(url)
    tab.wait_for_selector("h1", timeout=120_000)
    tab.wait_for_timeout(100)
    while tab.locator('[data-testid="stStatusWidget"]').count():
        tab.wait_for_timeout(50)
    return time.perf_counter() - start - 0.1


def main(pages):
    print(f"{'page':<22} {'first render s':>15} {'warm render s':>14} {'server RSS MiB':>15}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=ARGS)
        for page in pages:
            server, url = start_server()
            try:
                tab = browser.new_page(viewport={"width": 1280, "height": 720})
                first = render_seconds(tab, f"{url}/{page}")
                memory = rss_mib(server.pid)
                warm = render_seconds(tab, f"{url}/{page}")
                print(f"{page or 'home':<22} {first:>15.2f} {warm:>14.2f} {memory:>15.0f}", flush=True)
                tab.close()
            finally:
                server.terminate()
                server.wait()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:] or PAGES)
