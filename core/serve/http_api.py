"""The HTTP contract, on the standard library's ThreadingHTTPServer (one thread per
connection; the batcher behind it is what turns many threads into few model calls).

    POST /predict  {"texts": ["the price is outrageous"]}
               ->  200 {"predictions": [{"label": "price", "confidences": {"price": 0.93, ...}}]}
    GET  /health   200 {"status": "ok", ...} once the model is loaded, 503 {"status": "loading"} before

Anything wrong gets a 4xx (or 503 when busy) with {"error": "<one sentence>"} and
the server carries on: a body over MAX_BODY_BYTES (413), no length (411), a
content type other than JSON (415), malformed JSON or an empty text (400), an
unknown path (404), a wrong method (405).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from core.serve.batcher import ServerBusy, ShuttingDown
from core.serve.prediction import MAX_TEXT_CHARS, MAX_TEXTS_PER_REQUEST, BadText, check_texts

MAX_BODY_BYTES = 64 * 1024          # 64 texts x 1,000 characters fits, with room for JSON
DISCARD_LIMIT_BYTES = 4 * 2**20     # an oversized body up to this is read and dropped, so the
                                    # client gets its 413 instead of a reset connection
MAX_CONNECTIONS = 128               # each open connection holds a thread
IDLE_TIMEOUT_S = 15                 # a silent or slow client frees its thread after this


class PredictHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"    # keep-alive: a client reuses its connection
    timeout = IDLE_TIMEOUT_S
    server: "PredictServer"

    # --- routes ----------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path == "/health":
            self._health()
        elif self.path == "/predict":
            self._error(HTTPStatus.METHOD_NOT_ALLOWED, "Use POST for /predict.", allow="POST")
        else:
            self._unknown_path()

    def do_POST(self) -> None:
        if self.path == "/predict":
            self._predict()
        elif self.path == "/health":
            self._error(HTTPStatus.METHOD_NOT_ALLOWED, "Use GET for /health.", allow="GET")
        else:
            self._unknown_path()

    def do_PUT(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "Only GET /health and POST /predict exist.", allow="GET, POST")

    do_DELETE = do_PATCH = do_PUT

    # --- the two endpoints -------------------------------------------------------------

    def _health(self) -> None:
        engine = self.server.engine
        if engine is None:
            problem = self.server.load_error
            self._json(HTTPStatus.SERVICE_UNAVAILABLE,
                       {"status": "failed" if problem else "loading", "error": problem or "The model is loading."})
        else:
            self._json(HTTPStatus.OK, {"status": "ok", **engine.describe()})

    def _predict(self) -> None:
        body = self._read_body()
        if body is None:
            return
        try:
            texts = check_texts(parse_texts(body), MAX_TEXTS_PER_REQUEST, MAX_TEXT_CHARS)
        except BadText as error:
            self._error(HTTPStatus.BAD_REQUEST, str(error))
            return
        engine = self.server.engine
        if engine is None:
            self._error(HTTPStatus.SERVICE_UNAVAILABLE, self.server.load_error or
                        "The model is still loading; try again in a moment.", retry_after=1)
            return
        try:
            predictions = engine.predict(texts)
        except BadText as error:
            self._error(HTTPStatus.BAD_REQUEST, str(error))
        except (ServerBusy, ShuttingDown) as error:
            self._error(HTTPStatus.SERVICE_UNAVAILABLE, str(error), retry_after=1)
        except (FutureTimeout, TimeoutError):
            self._error(HTTPStatus.GATEWAY_TIMEOUT, "The model took too long to answer; try again.")
        except Exception as error:  # noqa: BLE001 - a model failure is this request's 500, not a crash
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"The model failed on this request: {one_line(error)}")
        else:
            self._json(HTTPStatus.OK, {"predictions": [p.to_json() for p in predictions]})

    # --- reading the request -------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering why it can't be used."""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        length_header = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            return self._refuse(HTTPStatus.LENGTH_REQUIRED, "Send the body with a Content-Length, not chunked.",
                                close=True)
        if length_header is None:
            return self._refuse(HTTPStatus.LENGTH_REQUIRED, "The request needs a Content-Length header.",
                                close=True)
        try:
            length = int(length_header)
            if length < 0:
                raise ValueError
        except ValueError:
            return self._refuse(HTTPStatus.BAD_REQUEST, "The Content-Length header is not a number of bytes.",
                                close=True)
        if length > MAX_BODY_BYTES:
            self._discard(length)
            return self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                f"The body is {length:,} bytes; the limit is {MAX_BODY_BYTES:,}.")
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            return None          # the client went away mid-body: nobody to answer
        if content_type != "application/json":
            return self._refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                                f"Send JSON with Content-Type: application/json (got '{content_type or 'none'}').")
        return body

    def _discard(self, length: int) -> None:
        """Read and drop an oversized body (bounded), so the answer reaches the client."""
        if length > DISCARD_LIMIT_BYTES:
            self.close_connection = True
            return
        left = length
        while left > 0:
            chunk = self.rfile.read(min(left, 65536))
            if not chunk:
                break
            left -= len(chunk)

    def _refuse(self, status: HTTPStatus, message: str, close: bool = False) -> None:
        """Answer why the body can't be used. close=True when we don't know where the body
        ends: the rest of the stream can't be read as a next request."""
        if close:
            self.close_connection = True
        self._error(status, message)
        return None

    def _unknown_path(self) -> None:
        # Drop any body so the connection stays usable for the next request.
        length = self.headers.get("Content-Length")
        if length and length.isdigit():
            self._discard(int(length))
        self._error(HTTPStatus.NOT_FOUND, f"There is nothing at {self.path[:100]}; use POST /predict or GET /health.")

    # --- writing the answer --------------------------------------------------------------

    def _error(self, status: HTTPStatus, message: str, allow: str | None = None,
               retry_after: int | None = None) -> None:
        headers = {}
        if allow:
            headers["Allow"] = allow
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        self._json(status, {"error": message}, headers)

    def _json(self, status: HTTPStatus, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        if self.server.closing:
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def send_error(self, code, message=None, explain=None) -> None:
        """http.server's own errors (a garbled request line, a header too long) as JSON too."""
        self.close_connection = True
        # A request line too garbled to name its version parses as HTTP/0.9, for which
        # http.server writes no status line at all: answer it as HTTP/1.0 instead.
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        try:
            self._json(HTTPStatus(code), {"error": message or HTTPStatus(code).phrase})
        except (OSError, ValueError):
            pass

    def log_message(self, format, *args) -> None:
        """Quiet: no line per request on the console."""


def parse_texts(body: bytes):
    """The "texts" value of a JSON body; BadText for anything else."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadText("The body is not UTF-8 text.") from None
    except json.JSONDecodeError as error:
        raise BadText(f"The body is not valid JSON ({error.msg} at character {error.pos}).") from None
    if not isinstance(payload, dict) or "texts" not in payload:
        raise BadText('Send a JSON object with a "texts" list, e.g. {"texts": ["too expensive"]}.')
    return payload["texts"]


def one_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class PredictServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with an engine slot (None while the model loads), a cap on
    open connections, and a close() that drains: queued requests are answered,
    then idle keep-alive connections are woken and every handler thread is joined."""

    daemon_threads = False
    block_on_close = True
    busy_response = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 58\r\nConnection: close\r\n\r\n"
                     b'{"error": "Too many open connections; try again shortly."}')

    def __init__(self, address, engine=None, max_connections: int = MAX_CONNECTIONS):
        super().__init__(address, PredictHandler)
        self.engine = engine
        self.load_error: str | None = None
        self.closing = False
        self._slots = threading.BoundedSemaphore(max_connections)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                request.sendall(self.busy_response)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)
            self._slots.release()

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up mid-request is normal on the internet: say nothing.
        Anything else gets one line on the console, not a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        print(f"error serving {client_address[0]}: {one_line(error)}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Stop, drain, and leave no thread behind. Call from any thread but the one
        in serve_forever (which this stops)."""
        self.closing = True
        self.shutdown()                    # serve_forever returns; no new connections
        if self.engine is not None:
            self.engine.close()            # every queued request gets its answer
        with self._open_lock:
            idle = list(self._open)
        for connection in idle:            # wake handlers waiting for a next keep-alive request
            try:
                connection.shutdown(socket.SHUT_RD)
            except OSError:
                pass
        self.server_close()                # joins the handler threads


def start_server(engine=None, host: str = "127.0.0.1", port: int = 0) -> tuple[PredictServer, threading.Thread]:
    """A PredictServer on (host, port) (port 0: any free one) serving in a thread.
    Stop it with server.close()."""
    server = PredictServer((host, port), engine)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="predict-http", daemon=True)
    thread.start()
    return server, thread
