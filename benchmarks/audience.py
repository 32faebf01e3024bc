"""What soak.py and audience_load.py share: one `streamlit run app.py` on loopback
whose memory can be read, and the chapter 3 fine-tune driven through the real page
in a Playwright tab (Debian's Chromium, as the browser tests use it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from browser import launch_chromium, open_page, projector_tab, wait_idle  # noqa: E402,F401

FINETUNE_PAGE = "ch3_finetune"
START = "Start fine-tuning"


class Server:
    """The app on a free loopback port; `rss_mb()` / `peak_mb()` read its memory from /proc."""

    def __init__(self, log_name: str, **env):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = ROOT / "benchmarks" / "results" / log_name
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")
        environ = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                       PYTHONUNBUFFERED="1", **{k: str(v) for k, v in env.items()})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=environ, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while True:
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2).read() == b"ok":
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"streamlit run app.py did not start; see {self.log_path}")
            time.sleep(0.3)

    def _status_mb(self, field: str) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {field} for the server process")

    def rss_mb(self) -> float:
        return self._status_mb("VmRSS")

    def peak_mb(self) -> float:
        return self._status_mb("VmHWM")

    def tracebacks(self) -> list[str]:
        """Every exception the server logged (none is the goal)."""
        self._log.flush()
        text = self.log_path.read_text(errors="replace")
        return [chunk.splitlines()[-1] if chunk.splitlines() else chunk
                for chunk in text.split("Traceback (most recent call last):")[1:]]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(proc.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _autogroup(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/autogroup").read_text().split()[0]
    except (OSError, IndexError):
        return None


def _set_autogroup_nice(pid: int, nice: int, server_pid: int) -> None:
    """Only a group of the browser's own: the server's group (this driver's session) is left alone."""
    group = _autogroup(pid)
    if group is None or group == _autogroup(server_pid) or group == _autogroup(os.getpid()):
        return
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError:
        pass  # no autogroup scheduling here: plain nice is enough


def browser_in_the_background(server_pid: int) -> int:
    """Nice 19 for this driver's own browser processes (never anyone else's, never the
    server's): on a stage the visitors' browsers run on their own machines, so here
    they must not take the server's CPU. Call again after opening tabs (new renderer
    processes). Returns how many processes were set."""
    done = 0
    for pid in _descendants(os.getpid()):
        if pid == server_pid or pid in _descendants(server_pid):
            continue
        try:
            if "chrom" in Path(f"/proc/{pid}/comm").read_text() or "node" in Path(f"/proc/{pid}/comm").read_text():
                os.setpriority(os.PRIO_PROCESS, pid, 19)
                # Chromium starts its own session, so the kernel's autogroup scheduling would
                # share the CPU between its group and the server's whatever their nice: the
                # group's own nice goes down too.
                _set_autogroup_nice(pid, 19, server_pid)
                done += 1
        except OSError:
            continue
    return done


def exceptions_on(tab) -> list[str]:
    boxes = tab.locator('[data-testid="stException"]')
    return [boxes.nth(i).inner_text()[:200] for i in range(boxes.count())]


def start_finetune(tab) -> None:
    """Press Start on chapter 3 (the page's default knobs: the talk's demo run)."""
    tab.get_by_role("button", name=START).click()


def finetune_finished(tab, run_number: int) -> bool:
    """This tab's run `run_number` has ended: its title is shown and Start is enabled again."""
    return (tab.get_by_text(f"Run {run_number} ·").count() > 0
            and tab.get_by_role("button", name=START).is_enabled()
            and tab.get_by_text("Stopping after this step").count() == 0)


def wait_finetune(tab, run_number: int, timeout_s: float = 900, meanwhile=None) -> None:
    """Wait until this tab's run `run_number` has ended and its results are drawn;
    `meanwhile()` is called about once a second while waiting (other visitors' clicks)."""
    deadline = time.time() + timeout_s
    while not finetune_finished(tab, run_number):
        if time.time() > deadline:
            raise TimeoutError(f"run {run_number} did not end within {timeout_s:.0f} s")
        if meanwhile is not None:
            meanwhile()
        tab.wait_for_timeout(500 if meanwhile is None else 200)
    wait_idle(tab)


def page_time_s(tab) -> str:
    """The page's own 'Time (incl. model load)' figure for the run shown."""
    metric = tab.locator('[data-testid="stMetric"]').filter(has_text="Time (incl. model load)")
    return metric.first.inner_text().splitlines()[-1].strip() if metric.count() else "?"
