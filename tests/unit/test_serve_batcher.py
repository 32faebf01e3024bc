"""The dynamic batcher (core/serve/batcher.py): a batch runs when full or when its
oldest item has waited the window; every caller gets its own answer; a bad item
fails alone; the queue is bounded; close() drains and leaves no thread.

Time is a FakeClock the test moves by hand, so batch composition is exact and
nothing depends on how fast this machine happens to be today."""

import threading
import time

import pytest

from core.serve import BadText, DynamicBatcher, ServerBusy, ShuttingDown, check_text, run_isolated

SETTLE = 10  # seconds a test waits for an answer that must come; never reached when it works


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A predict_many that remembers every batch it was given; fails on "bad"."""

    def __init__(self):
        self.batches = []

    def __call__(self, items):
        self.batches.append(list(items))
        if "bad" in items:
            raise ValueError("bad input")
        return [f"{item}!" for item in items]


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def recorder():
    return Recorder()


def batcher_threads():
    return [t for t in threading.enumerate() if t.name == "dynamic-batcher"]


def nothing_ran_yet(recorder, futures) -> bool:
    time.sleep(0.05)   # give a (wrongly) eager worker the chance to run
    return recorder.batches == [] and not any(f.done() for f in futures)


def test_each_caller_gets_the_answer_to_its_own_item_in_order(recorder):
    answers = {}

    def caller(name):
        futures = [batcher.submit(f"{name}-{i}") for i in range(20)]
        answers[name] = [f.result(SETTLE) for f in futures]

    with DynamicBatcher(recorder, max_batch_size=8, batch_wait_s=0.002) as batcher:
        threads = [threading.Thread(target=caller, args=(f"c{n}",)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(SETTLE)
    assert answers == {f"c{n}": [f"c{n}-{i}!" for i in range(20)] for n in range(6)}
    assert all(len(batch) <= 8 for batch in recorder.batches)
    assert sum(len(b) for b in recorder.batches) == 120


def test_a_full_batch_runs_at_once_without_waiting_out_the_window(clock, recorder):
    batcher = DynamicBatcher(recorder, max_batch_size=4, batch_wait_s=5.0, clock=clock)
    futures = [batcher.submit(i) for i in range(10)]
    assert [f.result(SETTLE) for f in futures[:8]] == [f"{i}!" for i in range(8)]
    assert recorder.batches == [[0, 1, 2, 3], [4, 5, 6, 7]]
    # Two are left: too few for a full batch, and the clock hasn't moved.
    assert not futures[8].done() and not futures[9].done()
    clock.now = 5.0
    batcher.poke()
    assert [f.result(SETTLE) for f in futures[8:]] == ["8!", "9!"]
    assert recorder.batches[-1] == [8, 9]
    batcher.close()
    assert batcher.snapshot().batch_sizes == [4, 4, 2]


def test_a_partial_batch_runs_when_its_oldest_item_has_waited_the_window(clock, recorder):
    batcher = DynamicBatcher(recorder, max_batch_size=100, batch_wait_s=0.010, clock=clock)
    first = [batcher.submit("a"), batcher.submit("b")]
    clock.now = 0.009
    batcher.poke()
    assert nothing_ran_yet(recorder, first)
    clock.now = 0.010
    batcher.poke()
    assert [f.result(SETTLE) for f in first] == ["a!", "b!"]
    # The window counts from the OLDEST waiting item: c arrives at 10 ms, d at 15 ms.
    c = batcher.submit("c")
    clock.now = 0.015
    d = batcher.submit("d")
    clock.now = 0.019
    batcher.poke()
    time.sleep(0.05)
    assert not c.done()
    clock.now = 0.020
    batcher.poke()
    assert (c.result(SETTLE), d.result(SETTLE)) == ("c!", "d!")
    assert recorder.batches == [["a", "b"], ["c", "d"]]
    # Each item's wait until its batch started, on the fake clock: a, b 10 ms; c 10 ms, d 5 ms.
    assert batcher.snapshot().waits_s == pytest.approx([0.010, 0.010, 0.010, 0.005])
    batcher.close()


def test_one_bad_item_fails_alone_and_the_rest_of_its_batch_is_answered(clock, recorder):
    batcher = DynamicBatcher(recorder, max_batch_size=3, batch_wait_s=5.0, clock=clock)
    good, bad, other = batcher.submit("x"), batcher.submit("bad"), batcher.submit("y")
    assert good.result(SETTLE) == "x!" and other.result(SETTLE) == "y!"
    with pytest.raises(ValueError, match="bad input"):
        bad.result(SETTLE)
    # The batch was tried once together, then one item at a time.
    assert recorder.batches == [["x", "bad", "y"], ["x"], ["bad"], ["y"]]
    snapshot = batcher.snapshot()
    assert (snapshot.answered, snapshot.failed) == (3, 1)
    batcher.close()


def test_an_invalid_item_is_refused_before_it_reaches_any_batch(clock, recorder):
    batcher = DynamicBatcher(recorder, max_batch_size=2, batch_wait_s=5.0, clock=clock, validate=check_text)
    empty, fine, also_fine = batcher.submit_many(["   ", "fine", "also fine"])
    with pytest.raises(BadText, match="empty"):
        empty.result(0)
    assert (fine.result(SETTLE), also_fine.result(SETTLE)) == ("fine!", "also fine!")
    assert recorder.batches == [["fine", "also fine"]]
    batcher.close()


def test_a_model_that_miscounts_its_answers_fails_those_items_not_the_worker(clock):
    calls = []

    def drops_one(items):
        calls.append(list(items))
        return ["only one"] if len(items) > 1 else [f"{items[0]}!"]

    batcher = DynamicBatcher(drops_one, max_batch_size=2, batch_wait_s=5.0, clock=clock)
    a, b = batcher.submit("a"), batcher.submit("b")
    assert (a.result(SETTLE), b.result(SETTLE)) == ("a!", "b!")
    assert calls == [["a", "b"], ["a"], ["b"]]
    batcher.close()


def test_run_isolated_reports_each_items_own_outcome(recorder):
    outcomes = run_isolated(recorder, ["p", "bad", "q"])
    assert [result for result, _ in outcomes] == ["p!", None, "q!"]
    assert [type(error) for _, error in outcomes] == [type(None), ValueError, type(None)]


def test_the_queue_is_bounded_and_a_request_is_accepted_whole_or_not_at_all(clock, recorder):
    batcher = DynamicBatcher(recorder, max_batch_size=100, batch_wait_s=5.0, max_queue=3, clock=clock)
    accepted = batcher.submit_many(["a", "b"])
    with pytest.raises(ServerBusy, match="busy: 2 requests are already waiting"):
        batcher.submit_many(["c", "d"])          # only one place left: neither goes in
    assert batcher.waiting == 2
    accepted.append(batcher.submit("c"))
    with pytest.raises(ServerBusy):
        batcher.submit("d")
    assert batcher.snapshot().rejected == 3
    batcher.close()
    assert [f.result(0) for f in accepted] == ["a!", "b!", "c!"]


def test_close_drains_every_accepted_item_and_leaves_no_thread(clock, recorder):
    before = len(batcher_threads())
    batcher = DynamicBatcher(recorder, max_batch_size=2, batch_wait_s=60.0, clock=clock)
    futures = [batcher.submit(i) for i in range(5)]   # 4 run as two full batches; 1 waits
    assert futures[3].result(SETTLE) == "3!"
    assert batcher.close(timeout=SETTLE) is True     # the waiting one runs without the window
    assert [f.result(0) for f in futures] == [f"{i}!" for i in range(5)]
    assert recorder.batches[-1] == [4]
    assert len(batcher_threads()) == before and batcher.closed
    with pytest.raises(ShuttingDown, match="shutting down"):
        batcher.submit("late")


def test_close_without_draining_answers_the_waiting_with_shutting_down(clock, recorder):
    batcher = DynamicBatcher(recorder, max_batch_size=10, batch_wait_s=60.0, clock=clock)
    futures = batcher.submit_many(["a", "b", "c"])
    assert batcher.close(drain=False, timeout=SETTLE) is True
    for future in futures:
        with pytest.raises(ShuttingDown, match="shut down before running"):
            future.result(0)
    assert recorder.batches == []


def test_close_waits_for_the_batch_already_running():
    started, release = threading.Event(), threading.Event()

    def slow(items):
        started.set()
        release.wait(SETTLE)
        return [f"{item}!" for item in items]

    batcher = DynamicBatcher(slow, max_batch_size=1, batch_wait_s=0.0)
    running = batcher.submit("running")
    started.wait(SETTLE)
    queued = batcher.submit("queued")
    closer = threading.Thread(target=batcher.close)
    closer.start()
    time.sleep(0.05)
    assert closer.is_alive()              # still waiting for the running batch
    release.set()
    closer.join(SETTLE)
    assert (running.result(0), queued.result(0)) == ("running!", "queued!")


def test_a_cancelled_item_is_never_run(clock, recorder):
    batcher = DynamicBatcher(recorder, max_batch_size=3, batch_wait_s=5.0, clock=clock)
    gone = batcher.submit("gone")
    assert gone.cancel()
    kept, kept_too = batcher.submit("kept"), batcher.submit("kept too")
    assert (kept.result(SETTLE), kept_too.result(SETTLE)) == ("kept!", "kept too!")
    assert recorder.batches == [["kept", "kept too"]]
    batcher.close()


def test_impossible_settings_are_refused(recorder):
    for settings, message in (({"max_batch_size": 0}, "max_batch_size"), ({"batch_wait_s": -1}, "negative"),
                              ({"max_queue": 0}, "max_queue")):
        with pytest.raises(ValueError, match=message):
            DynamicBatcher(recorder, **settings)
