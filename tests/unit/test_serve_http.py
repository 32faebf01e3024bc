"""`python -m core.serve` over loopback (core/serve/http_api.py): the contract,
every bad input answered with a 4xx sentence while the server keeps serving,
503 while loading or when full, and a close that drains and leaves no thread."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from core.serve import Classifier
from core.serve.engines import LocalEngine
from core.serve.http_api import MAX_BODY_BYTES, start_server

SETTLE = 30   # seconds; a bound for things that must happen, never a speed claim
GOOD = {"texts": ["the price is too expensive", "my card was declined"]}


@pytest.fixture(scope="module")
def classifier(tiny_classifier_dir):
    return Classifier.from_folder(tiny_classifier_dir)


@pytest.fixture(scope="module")
def server(classifier):
    server, _ = start_server(LocalEngine(classifier, max_batch_size=8, batch_wait_s=0.005))
    yield server
    server.close()


def connect(server) -> http.client.HTTPConnection:
    host, port = server.server_address[:2]
    return http.client.HTTPConnection(host, port, timeout=SETTLE)


def call(server_or_conn, method, path, body=None, headers=None):
    """(status, parsed JSON body, response headers)."""
    conn = connect(server_or_conn) if not isinstance(server_or_conn, http.client.HTTPConnection) else server_or_conn
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    raw = response.read()
    assert response.getheader("Content-Type", "").startswith("application/json")
    return response.status, json.loads(raw), response


def post(server_or_conn, payload, content_type="application/json"):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return call(server_or_conn, "POST", "/predict", body, {"Content-Type": content_type})


def still_serving(server):
    status, body, _ = post(server, GOOD)
    assert status == 200 and len(body["predictions"]) == 2


def test_health_says_ok_with_the_labels(server):
    status, body, _ = call(server, "GET", "/health")
    assert status == 200 and body["status"] == "ok"
    assert body["labels"] == ["credit", "lead time", "price"] and body["engine"] == "local"


def test_predict_answers_one_prediction_per_text_in_order(server, classifier):
    texts = ["delivery is too slow", "the price is outrageous", "nobody answered my email"]
    status, body, _ = post(server, {"texts": texts})
    assert status == 200
    expected = classifier.predict_batch(texts)
    assert [p["label"] for p in body["predictions"]] == [p.label for p in expected]
    for got, want in zip(body["predictions"], expected):
        assert got["confidences"] == pytest.approx(want.confidences, abs=1e-5)
        assert sum(got["confidences"].values()) == pytest.approx(1.0, abs=1e-5)


def test_one_connection_serves_many_requests(server):
    conn = connect(server)
    for _ in range(3):
        status, body, _ = post(conn, {"texts": ["too expensive"]})
        assert status == 200 and len(body["predictions"]) == 1
    conn.close()


def test_concurrent_callers_each_get_their_own_answers(server, classifier):
    texts = [f"order {word} cancel" for word in ("price", "card", "late", "bug", "email", "cost", "bank", "slow")]
    expected = {t: classifier.predict_batch([t])[0].label for t in texts}
    got, errors = {}, []

    def caller(text):
        try:
            status, body, _ = post(server, {"texts": [text]})
            got[text] = (status, body["predictions"][0]["label"])
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=caller, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SETTLE)
    assert errors == [] and got == {t: (200, label) for t, label in expected.items()}


BAD_REQUESTS = [
    # (body, content type, status, part of the sentence)
    (b'{"texts": [""]}', "application/json", 400, "texts[0]: A text is empty"),
    (b'{"texts": ["fine", "  "]}', "application/json", 400, "texts[1]: A text is empty"),
    (b'{"texts": []}', "application/json", 400, '"texts" is empty'),
    (b'{"texts": "not a list"}', "application/json", 400, "must be a list"),
    (b'{"texts": [42]}', "application/json", 400, "must be a string, not int"),
    (b'{"text": ["wrong key"]}', "application/json", 400, 'a "texts" list'),
    (b'["texts"]', "application/json", 400, 'a "texts" list'),
    (b'{"texts": ["unclosed"', "application/json", 400, "not valid JSON"),
    (b"", "application/json", 400, "not valid JSON"),
    (b'{"texts": ["caf\xe9"]}', "application/json", 400, "not UTF-8"),
    (json.dumps({"texts": ["x" * 1001]}).encode(), "application/json", 400, "the limit is 1,000"),
    (json.dumps({"texts": ["x"] * 65}).encode(), "application/json", 400, "the limit is 64"),
    (json.dumps(GOOD).encode(), "text/plain", 415, "Content-Type: application/json"),
    (json.dumps(GOOD).encode(), "application/x-www-form-urlencoded", 415, "application/json"),
    (b"a" * 1_000_000, "application/json", 413, "the limit is 65,536"),
    (b"a" * (MAX_BODY_BYTES + 1), "application/json", 413, "bytes; the limit"),
]


@pytest.mark.parametrize("body, content_type, status, message", BAD_REQUESTS,
                         ids=[f"{s}-{m[:24]}" for _, _, s, m in BAD_REQUESTS])
def test_a_bad_request_gets_a_4xx_sentence_and_the_server_carries_on(server, body, content_type, status, message):
    conn = connect(server)
    got, payload, _ = post(conn, body, content_type)
    assert got == status and message in payload["error"]
    assert payload["error"].endswith(".") and "Traceback" not in payload["error"]
    still_serving(conn)          # the same connection is still usable
    conn.close()
    still_serving(server)


def test_a_request_without_content_type_is_refused(server):
    status, payload, _ = call(server, "POST", "/predict", json.dumps(GOOD).encode(), {})
    assert status == 415 and "got 'none'" in payload["error"]


@pytest.mark.parametrize("method, path, status, message", [
    ("GET", "/", 404, "nothing at /"),
    ("POST", "/predict/extra", 404, "use POST /predict or GET /health"),
    ("GET", "/predict", 405, "Use POST"),
    ("POST", "/health", 405, "Use GET"),
    ("DELETE", "/predict", 405, "Only GET /health and POST /predict"),
])
def test_unknown_paths_and_wrong_methods(server, method, path, status, message):
    body = b"{}" if method == "POST" else None
    got, payload, response = call(server, method, path, body, {"Content-Type": "application/json"})
    assert got == status and message in payload["error"]
    if status == 405:
        assert response.getheader("Allow")
    still_serving(server)


def test_chunked_bodies_and_garbled_requests_get_a_json_answer(server):
    conn = connect(server)
    conn.request("POST", "/predict", body=iter([json.dumps(GOOD).encode()]),
                 headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"}, encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 411 and "Content-Length" in json.loads(response.read())["error"]
    conn.close()
    with socket.create_connection(server.server_address[:2], timeout=SETTLE) as raw:
        raw.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        chunks = []
        while chunk := raw.recv(4096):     # the server closes after answering
            chunks.append(chunk)
        answer = b"".join(chunks).decode("latin-1")
    assert answer.startswith("HTTP/") and " 400 " in answer.splitlines()[0] and '{"error"' in answer
    still_serving(server)


class GatedClassifier:
    """A classifier stand-in whose predict_batch waits for a gate, or fails on "boom"."""

    labels = ("a", "b")

    def __init__(self, classifier):
        self.classifier = classifier
        self.started, self.gate = threading.Event(), threading.Event()
        self.gate.set()

    def predict_batch(self, texts):
        if any("boom" in t for t in texts):
            raise RuntimeError("the model fell over")
        self.started.set()
        self.gate.wait(SETTLE)
        return self.classifier.predict_batch(texts)

    def describe(self):
        return {"model": "gated", "labels": list(self.labels)}


def in_thread(fn, *args):
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("value", fn(*args)))
    thread.start()
    return thread, out


def test_a_model_failure_is_that_requests_500_and_others_are_served(classifier):
    server, _ = start_server(LocalEngine(GatedClassifier(classifier), max_batch_size=4, batch_wait_s=0.0))
    try:
        status, payload, _ = post(server, {"texts": ["boom goes the model"]})
        assert status == 500 and "the model fell over" in payload["error"]
        still_serving(server)
    finally:
        server.close()


def test_a_full_queue_answers_503_with_retry_after(classifier):
    gated = GatedClassifier(classifier)
    gated.gate.clear()
    server, _ = start_server(LocalEngine(gated, max_batch_size=1, batch_wait_s=0.0, max_queue=1))
    try:
        running, running_out = in_thread(post, server, {"texts": ["first"]})
        assert gated.started.wait(SETTLE)                    # "first" is inside the model
        queued, queued_out = in_thread(post, server, {"texts": ["second"]})
        for _ in range(SETTLE * 100):                        # until "second" waits in the queue
            if server.engine.batcher.waiting == 1:
                break
            time.sleep(0.01)
        status, payload, response = post(server, {"texts": ["third"]})
        assert status == 503 and "busy" in payload["error"] and response.getheader("Retry-After") == "1"
        gated.gate.set()
        running.join(SETTLE)
        queued.join(SETTLE)
        assert running_out["value"][0] == queued_out["value"][0] == 200
    finally:
        gated.gate.set()
        server.close()


def test_while_loading_health_and_predict_answer_503(classifier):
    server, _ = start_server(engine=None)
    try:
        status, payload, _ = call(server, "GET", "/health")
        assert status == 503 and payload["status"] == "loading"
        status, payload, _ = post(server, GOOD)
        assert status == 503 and "loading" in payload["error"]
        server.engine = LocalEngine(classifier)
        assert call(server, "GET", "/health")[0] == 200
        still_serving(server)
    finally:
        server.close()


def test_close_answers_the_request_in_flight_then_leaves_no_thread(classifier):
    before = set(threading.enumerate())
    gated = GatedClassifier(classifier)
    gated.gate.clear()
    server, serving = start_server(LocalEngine(gated, max_batch_size=4, batch_wait_s=0.0))
    idle = connect(server)
    assert call(idle, "GET", "/health")[0] == 200            # an idle keep-alive connection stays open
    in_flight, out = in_thread(post, server, {"texts": ["answer me before you go"]})
    assert gated.started.wait(SETTLE)
    closer = threading.Thread(target=server.close)
    closer.start()
    gated.gate.set()
    closer.join(SETTLE)
    in_flight.join(SETTLE)
    assert not closer.is_alive() and not serving.is_alive()
    assert out["value"][0] == 200
    idle.close()
    left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert left == []


# --- the command line -----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_cli_serves_a_saved_model_quietly_and_stops_cleanly_on_sigterm(tiny_classifier_dir, root):
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    process = subprocess.Popen(
        [sys.executable, "-m", "core.serve", "--model", tiny_classifier_dir, "--port", str(port),
         "--max-batch", "4", "--wait-ms", "5", "--threads", "1"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/health")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert status == 200, process.stderr.read() if process.poll() is not None else "no 200 from /health"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=SETTLE)
        got, body, _ = post(conn, {"texts": ["too expensive"]})
        assert got == 200 and body["predictions"][0]["label"] in {"credit", "lead time", "price"}
        conn.close()
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=SETTLE)
    assert process.returncode == 0
    assert out == ""
    assert "Traceback" not in err and "weights" not in err.lower() and len(err.strip().splitlines()) <= 3
    assert f"ready: http://127.0.0.1:{port}/predict" in err


def test_the_cli_refuses_a_missing_model_folder_in_one_line(root, tmp_path):
    result = subprocess.run([sys.executable, "-m", "core.serve", "--model", str(tmp_path / "nope"), "--port", "0"],
                            cwd=root, capture_output=True, text=True, timeout=SETTLE)
    assert result.returncode == 2 and "is not a folder" in result.stderr and "Traceback" not in result.stderr
