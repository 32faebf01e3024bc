"""`--engine ray` (core/serve/ray_engine.py): the same HTTP contract in front of a
Ray Serve deployment whose predict is `@serve.batch`-ed. Needs the optional
extra (pip install -r requirements-serve.txt); skipped where ray isn't installed.
Starts a small local Ray in this process (about 20 s on a 2-core machine)."""

import json

import pytest

pytest.importorskip("ray.serve", reason="Ray Serve is an optional extra: pip install -r requirements-serve.txt")

from core.serve import Classifier  # noqa: E402
from core.serve.http_api import start_server  # noqa: E402

pytestmark = pytest.mark.ray


def test_ray_engine_serves_the_same_contract_on_loopback(tiny_classifier_dir):
    import http.client

    from core.serve.ray_engine import RayEngine

    engine = RayEngine(tiny_classifier_dir, max_batch_size=4, batch_wait_s=0.005)
    server, _ = start_server(engine)
    try:
        host, port = server.server_address[:2]

        def post(payload):
            conn = http.client.HTTPConnection(host, port, timeout=60)
            conn.request("POST", "/predict", json.dumps(payload), {"Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, json.loads(response.read())

        conn = http.client.HTTPConnection(host, port, timeout=60)
        conn.request("GET", "/health")
        response = conn.getresponse()
        health = json.loads(response.read())
        assert response.status == 200 and health["engine"] == "ray"
        assert health["labels"] == ["credit", "lead time", "price"]

        texts = ["the price is too expensive", "my card was declined", "delivery is slow"]
        status, body = post({"texts": texts})
        assert status == 200
        expected = Classifier.from_folder(tiny_classifier_dir).predict_batch(texts)
        assert [p["label"] for p in body["predictions"]] == [p.label for p in expected]
        for got, want in zip(body["predictions"], expected):
            assert got["confidences"] == pytest.approx(want.confidences, abs=1e-5)

        status, body = post({"texts": ["fine", ""]})
        assert status == 400 and "texts[1]: A text is empty" in body["error"]
    finally:
        server.close()     # closes the engine: Serve and the local Ray stop
    import ray

    assert not ray.is_initialized()
