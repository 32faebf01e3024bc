"""A room of light-page visitors as bare websocket clients: what a browser tab
costs the server (a session, one script run per page it opens), without a
browser's own CPU on the same two cores.

Each visitor holds one Streamlit session open on `/_stcore/stream` (the wire
protocol the browser speaks: protobuf BackMsg / ForwardMsg) and, every `think`
seconds, asks for its next page, as a click in the sidebar does, then reads the
server's answer up to `script_finished`. The time from asking to that message is
the page's render time on the server as this visitor saw it. An exception element
anywhere in an answer is counted, with its message.

    python benchmarks/ws_room.py --url http://127.0.0.1:8501 --visitors 30 --seconds 60

It browses until --seconds have passed or it is sent SIGTERM, then prints one JSON
line. audience_load.py runs it in a subprocess at nice 19.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import statistics
import time

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

LIGHT_PAGES = ["", "ch1_multiplication", "ch1_confidence", "ch2_tokenizer", "ch4_batch", "ch4_noise",
               "ch4_fitting", "ch2_onehot"]


def page_request(page: str) -> bytes:
    """The BackMsg a browser sends when a visitor opens `page` (its URL path)."""
    msg = BackMsg()
    msg.rerun_script.query_string = ""
    msg.rerun_script.page_name = page
    msg.rerun_script.page_script_hash = ""
    return msg.SerializeToString()


def exceptions_in(msg: ForwardMsg) -> list[str]:
    if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element":
        element = msg.delta.new_element
        if element.WhichOneof("type") == "exception":
            return [f"{element.exception.type}: {element.exception.message}"[:200]]
    return []


async def open_page(ws, page: str, timeout_s: float) -> tuple[float, list[str]]:
    """Ask for `page`; wait for the run to finish. (seconds, exceptions seen)."""
    started = time.perf_counter()
    await ws.send(page_request(page))
    problems: list[str] = []
    deadline = started + timeout_s
    while True:
        data = await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.perf_counter()))
        msg = ForwardMsg()
        msg.ParseFromString(data)
        problems += exceptions_in(msg)
        if msg.WhichOneof("type") == "script_finished" and \
                msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            return time.perf_counter() - started, problems


async def visitor(number: int, url: str, think_s: float, stop: asyncio.Event, results: dict) -> None:
    rng = random.Random(number)
    pages = LIGHT_PAGES[number % len(LIGHT_PAGES):] + LIGHT_PAGES[:number % len(LIGHT_PAGES)]
    stream = url.replace("http", "ws", 1) + "/_stcore/stream"
    if await pause(stop, rng.uniform(0, think_s)):  # the room does not click in step
        return
    try:
        async with websockets.connect(stream, subprotocols=["streamlit"], max_size=None,
                                      open_timeout=60, ping_interval=None) as ws:
            turn = 0
            while not stop.is_set():
                page = pages[turn % len(pages)]
                turn += 1
                try:
                    seconds, problems = await open_page(ws, page, timeout_s=120)
                except asyncio.TimeoutError:
                    results["timeouts"] += 1
                    continue
                results["renders"].append(seconds)
                results["exceptions"] += [f"/{page}: {p}" for p in problems]
                if await pause(stop, think_s * rng.uniform(0.8, 1.2) - seconds):
                    return
    except (OSError, websockets.WebSocketException) as error:
        results["dropped"].append(f"visitor {number}: {error!r}"[:200])


async def pause(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds` (a visitor reading the page); True if the room was told to stop."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    except asyncio.TimeoutError:
        pass
    return stop.is_set()


async def room(url: str, visitors: int, think_s: float, seconds: float) -> dict:
    results = {"renders": [], "exceptions": [], "timeouts": 0, "dropped": []}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.call_later(seconds, stop.set)
    began = time.time()
    await asyncio.gather(*(visitor(i, url, think_s, stop, results) for i in range(visitors)))
    seconds = time.time() - began
    renders = sorted(results["renders"])
    return {"visitors": visitors, "think_s": think_s, "seconds": round(seconds), "page_visits": len(renders),
            "render_p50_s": round(statistics.median(renders), 2) if renders else None,
            "render_p95_s": round(renders[int(0.95 * (len(renders) - 1))], 2) if renders else None,
            "render_max_s": round(renders[-1], 2) if renders else None,
            "timeouts": results["timeouts"], "dropped": results["dropped"], "exceptions": results["exceptions"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--visitors", type=int, default=30)
    parser.add_argument("--think", type=float, default=10.0, help="seconds each visitor spends on a page")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the room keeps browsing")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(room(args.url, args.visitors, args.think, args.seconds))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
