"""Dynamic batching vs one request at a time, over HTTP on loopback (issue 13).

    python -m core.finetune --epochs 1 --output /tmp/serve-model     # a fine-tuned model (~15 s)
    python benchmarks/serve_load.py --model /tmp/serve-model          # local engine (~1 min)
    python benchmarks/serve_load.py --model /tmp/serve-model --engines local,ray   # with the extra

For each engine it starts `python -m core.serve` twice, batched (--max-batch 32
--wait-ms 10) and one at a time (--max-batch 1 --wait-ms 0), and sends each:
  1. Poisson arrivals at --rate requests/s for --seconds (one text per request);
     target: p95 with batching no worse than one at a time;
  2. saturation: --burst requests at once from --clients keep-alive connections;
     target: throughput with batching at least 3x one at a time.
Latency counts from when a request was DUE, so a backed-up client can't hide
queueing. Bounded: at most ~10 s of arrivals and --burst requests per run.
Prints the load average: on a shared machine the neighbours move the numbers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for name, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false"),
                    ("OMP_WAIT_POLICY", "PASSIVE")):
    os.environ.setdefault(name, value)

from core.serve.load import LoadResult, run_load  # noqa: E402

START_TIMEOUT_S = 180
MODES = (("batched", 32, 10.0), ("one at a time", 1, 0.0))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(model: str, engine: str, max_batch: int, wait_ms: float) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "core.serve", "--model", model, "--port", str(port), "--engine", engine,
         "--max-batch", str(max_batch), "--wait-ms", str(wait_ms), "--max-queue", "4096"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {process.stderr.read().strip()[-500:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return process, port
        except OSError:
            pass
        time.sleep(0.3)
    stop_server(process)
    raise RuntimeError(f"no 200 from /health within {START_TIMEOUT_S} s")


def stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


class Client:
    """One keep-alive connection per client thread, as a real caller pool would hold."""

    def __init__(self, port: int, threads: int):
        self.port = port
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="load-client")

    def _predict(self, text: str) -> dict:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("POST", "/predict", json.dumps({"texts": [text]}), {"Content-Type": "application/json"})
            response = conn.getresponse()
            body = json.loads(response.read())
        except (OSError, http.client.HTTPException):
            self.local.conn = None
            conn.close()
            raise
        if response.status != 200:
            raise RuntimeError(f"{response.status}: {body.get('error')}")
        return body

    def submit(self, text: str):
        return self.pool.submit(self._predict, text)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def measure(model: str, engine: str, label: str, max_batch: int, wait_ms: float, args) -> dict[str, LoadResult]:
    process, port = start_server(model, engine, max_batch, wait_ms)
    client = Client(port, args.clients)
    try:
        run_load(client.submit, rate_per_s=float("inf"), max_requests=2 * args.clients, label="warm-up")
        at_rate = run_load(client.submit, rate_per_s=args.rate, duration_s=args.seconds,
                           max_requests=int(args.rate * args.seconds * 2), seed=args.seed,
                           label=f"{engine} {label} @ {args.rate:g}/s")
        burst = run_load(client.submit, rate_per_s=float("inf"), max_requests=args.burst, seed=args.seed,
                         label=f"{engine} {label} saturation")
    finally:
        client.close()
        stop_server(process)
    return {"rate": at_rate, "saturation": burst}


def line(result: LoadResult) -> str:
    def ms(value):
        return f"{value:7.1f}" if value is not None else "      -"

    problems = result.failed + result.rejected + result.unanswered
    return (f"  {result.label:<36} p50 {ms(result.p50_ms)} ms  p95 {ms(result.p95_ms)} ms  "
            f"p99 {ms(result.p99_ms)} ms  {result.throughput_per_s:7.1f} req/s  "
            f"({result.answered}/{result.sent} answered{f', {problems} not' if problems else ''})")


def verdicts(results: dict[str, dict[str, LoadResult]]) -> list[str]:
    batched, alone = results["batched"], results["one at a time"]
    ratio = batched["saturation"].throughput_per_s / max(alone["saturation"].throughput_per_s, 1e-9)
    p95_ok = batched["rate"].p95_ms is not None and alone["rate"].p95_ms is not None \
        and batched["rate"].p95_ms <= alone["rate"].p95_ms
    return [f"  p95 at the set rate, batched <= one at a time: {'yes' if p95_ok else 'NO'} "
            f"({batched['rate'].p95_ms:.1f} vs {alone['rate'].p95_ms:.1f} ms)",
            f"  saturation throughput, batched / one at a time: {ratio:.1f}x "
            f"({'meets' if ratio >= 3 else 'BELOW'} the 3x target)"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="/tmp/serve-model", help="folder from python -m core.finetune --output")
    parser.add_argument("--engines", default="local", help="comma-separated: local, ray")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--burst", type=int, default=400, help="requests sent at once for saturation")
    parser.add_argument("--clients", type=int, default=64, help="client threads (keep-alive connections)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="also print every figure as JSON")
    args = parser.parse_args(argv)
    if not (Path(args.model) / "labels.json").is_file():
        print(f"error: {args.model} is not a saved model; make one with "
              f"python -m core.finetune --epochs 1 --output {args.model}", file=sys.stderr)
        return 2
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} at start; model {args.model}")
    everything = {}
    for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
        results = {}
        for label, max_batch, wait_ms in MODES:
            try:
                results[label] = measure(args.model, engine, label, max_batch, wait_ms, args)
            except RuntimeError as error:
                print(f"{engine} {label}: could not run: {error}")
                break
        else:
            print(f"{engine} engine (batched: up to 32 texts, wait 10 ms):")
            for label, _, _ in MODES:
                print(line(results[label]["rate"]))
            for label, _, _ in MODES:
                print(line(results[label]["saturation"]))
            print("\n".join(verdicts(results)))
            everything[engine] = {label: {k: r.summary() for k, r in runs.items()} for label, runs in results.items()}
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        print(json.dumps(everything, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
