"""`python -m core.serve --model DIR --port N`: serve a fine-tuned model over HTTP.

The port opens at once and answers /health with 503 while the model loads (a
load balancer can wait for 200); Ctrl-C or SIGTERM stops it cleanly: requests
already queued are answered first. Bad arguments give one line and exit 2.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from core.serve.batcher import DEFAULT_MAX_BATCH, DEFAULT_MAX_QUEUE, DEFAULT_WAIT_S
from core.serve.http_api import PredictServer, one_line

ENGINES = ("local", "ray")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m core.serve",
                                     description="Serve a fine-tuned model (python -m core.finetune --output DIR) "
                                                 "over HTTP with dynamic batching.")
    parser.add_argument("--model", required=True, help="folder written by python -m core.finetune --output")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default: loopback only; 0.0.0.0 exposes it)")
    parser.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH,
                        help="most texts in one model call (1 = one at a time)")
    parser.add_argument("--wait-ms", type=float, default=DEFAULT_WAIT_S * 1000,
                        help="how long the oldest waiting text may wait for company")
    parser.add_argument("--max-queue", type=int, default=DEFAULT_MAX_QUEUE,
                        help="texts waiting beyond this are refused with 503 (local engine)")
    parser.add_argument("--engine", choices=ENGINES, default="local")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    args = parser.parse_args(argv)
    problems = [message for bad, message in (
        (not 0 <= args.port <= 65535, "--port must be between 0 and 65535."),
        (args.max_batch < 1, "--max-batch must be at least 1."),
        (args.wait_ms < 0, "--wait-ms can't be negative."),
        (args.max_queue < 1, "--max-queue must be at least 1."),
        (not os.path.isdir(args.model), f"--model {args.model} is not a folder."),
    ) if bad]
    if problems:
        parser.error(problems[0])
    return args


def build_engine(args):
    """The engine the arguments ask for; loads the model (seconds)."""
    if args.engine == "ray":
        from core.serve.ray_engine import RayEngine

        return RayEngine(args.model, max_batch_size=args.max_batch, batch_wait_s=args.wait_ms / 1000)
    from core.serve.engines import LocalEngine
    from core.serve.prediction import Classifier

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    return LocalEngine(Classifier.from_folder(args.model), max_batch_size=args.max_batch,
                       batch_wait_s=args.wait_ms / 1000, max_queue=args.max_queue)


def run_engine_thread(server: PredictServer, args, stopping: threading.Event) -> threading.Thread:
    """Load the model while the port already answers /health with 503, then wait for
    `stopping` and close the server (draining) from this same thread: a local Ray's
    processes die with the THREAD that started them (Linux's parent-death signal),
    so that thread must outlive the serving and be the one that shuts Ray down."""

    def run():
        try:
            server.engine = build_engine(args)
        except Exception as error:  # noqa: BLE001 - reported on the console and by /health
            server.load_error = f"The model could not be loaded: {one_line(error)}"
            print(f"error: {server.load_error}", file=sys.stderr, flush=True)
        else:
            print(f"ready: {server.url}/predict ({args.engine} engine, batches of up to {args.max_batch}, "
                  f"wait {args.wait_ms:g} ms)", file=sys.stderr, flush=True)
        stopping.wait()
        server.close()

    thread = threading.Thread(target=run, name="model-engine", daemon=True)
    thread.start()
    return thread


def _stop_like_ctrl_c(*_) -> None:
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        server = PredictServer((args.host, args.port))
    except OSError as error:
        print(f"error: can't listen on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"loading {args.model}; /health answers 200 when ready at {server.url}", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)   # docker stop, systemd: the same clean stop
    # Serving starts first: server.close() waits for serve_forever, so it must be running.
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="predict-http")
    serving.start()
    stopping = threading.Event()
    engine_thread = run_engine_thread(server, args, stopping)
    try:
        while serving.is_alive():
            serving.join(0.5)
    except KeyboardInterrupt:
        print("stopping: answering the requests already queued", file=sys.stderr, flush=True)
    finally:
        stopping.set()                 # the engine thread drains and closes everything
        engine_thread.join(120)
        serving.join(5)
    return 0
