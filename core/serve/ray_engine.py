"""The same batched predict function as a Ray Serve deployment, for when one
machine (or one process) is not enough: `python -m core.serve --engine ray`.

Ray Serve's `@serve.batch(max_batch_size, batch_wait_timeout_s)` is the same
idea as our DynamicBatcher: calls to the decorated method that arrive within
the window are handed to it as one list. The HTTP front end stays ours
(core/serve/http_api.py), so the contract and every check are identical; it
forwards each checked text to the deployment through a DeploymentHandle.

Ray is an optional extra (requirements-serve.txt). Without RAY_ADDRESS a small
local Ray starts inside this process; with RAY_ADDRESS=ray://head:10001 (or
auto) it joins that cluster instead. See "Serving over HTTP" in README.md.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Sequence

from core.serve.batcher import DEFAULT_MAX_BATCH, DEFAULT_WAIT_S
from core.serve.engines import ANSWER_TIMEOUT_S
from core.serve.prediction import MAX_TOKENS, Prediction

APP_NAME = "fizzbuzz-to-bert"
LOCAL_OBJECT_STORE_BYTES = 100 * 2**20   # predictions are tiny; Ray's default takes 30% of RAM
REPO_ROOT = str(Path(__file__).resolve().parents[2])


class RayUnavailable(RuntimeError):
    """Ray isn't installed or won't start; str(error) says what to do."""


def import_serve():
    # Ray's C++ crash reporter would take over SIGTERM (printing a stack and aborting);
    # our CLI's own handler stops cleanly instead. Read when ray is first imported.
    os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
    try:
        from ray import serve
    except ImportError:
        raise RayUnavailable("--engine ray needs Ray Serve: pip install -r requirements-serve.txt") from None
    return serve


def batched_deployment(folder: str, max_batch_size: int, batch_wait_s: float, max_length: int = MAX_TOKENS,
                       replica_cpus: float = 1):
    """A Ray Serve application: one replica holding the classifier, its predict batched."""
    serve = import_serve()

    @serve.deployment(name="classifier", num_replicas=1, max_ongoing_requests=max(4 * max_batch_size, 64),
                      ray_actor_options={"num_cpus": replica_cpus})
    class BatchedClassifier:
        def __init__(self, folder: str, max_length: int):
            from core.serve.prediction import Classifier

            self.classifier = Classifier.from_folder(folder, max_length)

        @serve.batch(max_batch_size=max_batch_size, batch_wait_timeout_s=batch_wait_s)
        async def predict(self, texts: list[str]) -> list[dict]:
            from core.serve.batcher import run_isolated

            # Plain dicts travel back: one error dict per bad text, so it fails alone.
            return [{"error": str(error) or type(error).__name__} if error else result.to_json()
                    for result, error in run_isolated(self.classifier.predict_batch, texts)]

        async def __call__(self, text: str) -> dict:
            return await self.predict(text)

    return BatchedClassifier.bind(folder, max_length)


def start_ray(replica_cpus: float) -> str:
    """Join RAY_ADDRESS's cluster if set, else start a small local Ray in this process.
    Returns "local" (we started it: we stop it again), "cluster" or "existing"."""
    import ray

    if ray.is_initialized():
        return "existing"
    common = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                  runtime_env={"env_vars": {"PYTHONPATH": REPO_ROOT, "TOKENIZERS_PARALLELISM": "false",
                                            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}})
    address = os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, **common)
        return "cluster"
    ray.init(num_cpus=max(2, int(replica_cpus) + 1), object_store_memory=LOCAL_OBJECT_STORE_BYTES, **common)
    return "local"


class RayEngine:
    name = "ray"

    def __init__(self, folder, max_batch_size: int = DEFAULT_MAX_BATCH, batch_wait_s: float = DEFAULT_WAIT_S,
                 max_length: int = MAX_TOKENS, replica_cpus: float = 1):
        serve = import_serve()
        self.folder = str(Path(folder).resolve())
        self.max_batch_size, self.batch_wait_s = max_batch_size, batch_wait_s
        self.labels = json.loads((Path(self.folder) / "labels.json").read_text(encoding="utf-8"))
        self.ray = start_ray(replica_cpus)
        logging.getLogger("ray.serve").setLevel(logging.ERROR)   # no INFO line per app step
        # No Ray HTTP proxy: our own front end is the only door, on the port asked for.
        serve.start(proxy_location="Disabled", logging_config={"log_level": "ERROR"})
        self.handle = serve.run(batched_deployment(self.folder, max_batch_size, batch_wait_s, max_length,
                                                   replica_cpus),
                                name=APP_NAME, route_prefix=None, logging_config={"log_level": "ERROR"})

    def predict(self, texts: Sequence[str], timeout: float = ANSWER_TIMEOUT_S) -> list[Prediction]:
        # One call per text, all in flight together: @serve.batch groups them (and other requests').
        responses = [self.handle.remote(text) for text in texts]
        answers = [response.result(timeout_s=timeout) for response in responses]
        for answer in answers:
            if "error" in answer:
                raise RuntimeError(answer["error"])
        return [Prediction(label=a["label"], confidences=a["confidences"]) for a in answers]

    def describe(self) -> dict:
        return {"model": Path(self.folder).name, "labels": self.labels, "engine": self.name,
                "max_batch_size": self.max_batch_size, "batch_wait_ms": self.batch_wait_s * 1000}

    def close(self) -> None:
        """Ray Serve drains a replica's ongoing requests before stopping it."""
        import ray
        from ray import serve

        try:
            if self.ray == "local":
                serve.shutdown()         # deletes the app too
            else:                        # on a shared cluster, Serve itself stays up for others
                serve.delete(APP_NAME)
        finally:
            if self.ray in ("local", "cluster"):
                ray.shutdown()           # local: stops Ray; cluster: only disconnects
