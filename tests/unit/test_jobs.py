"""The background job and the fine-tune queue, driven by a fake training function.

The fake "trains" by counting steps; events let each test decide exactly when a
step happens, so nothing here depends on timing."""

import threading
import time

import pytest

from core import jobs


class FakeTraining:
    """work(on_step, on_epoch, should_stop): one step each time `tick()` is called."""

    def __init__(self, steps=5, steps_per_epoch=2, fail_at=None):
        self.steps, self.steps_per_epoch, self.fail_at = steps, steps_per_epoch, fail_at
        self.started = threading.Event()
        self._go = threading.Semaphore(0)
        self.steps_done = 0

    def tick(self, n=1):
        for _ in range(n):
            self._go.release()

    def run_freely(self):
        self.tick(10_000)

    def __call__(self, on_step, on_epoch, should_stop):
        self.started.set()
        for step in range(1, self.steps + 1):
            self._go.acquire()
            if should_stop():  # checked once per step, like the real loop
                break
            if step == self.fail_at:
                raise FloatingPointError("The loss became NaN at step 3: lower the learning rate.")
            self.steps_done = step
            on_step({"step": step, "loss": 1.0 / step})
            if step % self.steps_per_epoch == 0:
                on_epoch({"epoch": step // self.steps_per_epoch})
        return {"weights": "learned", "steps": self.steps_done}


def wait_until(predicate, timeout=10):
    """Poll until predicate() holds; fail (not hang) if it never does."""
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        done.wait(0.01)
    raise AssertionError("condition never became true")


def test_a_job_runs_to_done_and_keeps_every_report():
    work = FakeTraining(steps=4)
    work.run_freely()
    job = jobs.submit(work, queue=jobs.JobQueue(1))
    assert job.join(10)
    snap = job.snapshot()
    assert snap.status == jobs.DONE
    assert [s["step"] for s in snap.steps] == [1, 2, 3, 4]
    assert [e["epoch"] for e in snap.epochs] == [1, 2]
    assert snap.result == {"weights": "learned", "steps": 4}
    assert snap.error is None and snap.finished


def test_second_job_waits_queued_with_its_position_then_runs():
    queue = jobs.JobQueue(1)
    first, second, third = FakeTraining(3), FakeTraining(3), FakeTraining(3)
    a = jobs.submit(first, queue=queue)
    first.started.wait(5)
    b = jobs.submit(second, queue=queue)
    c = jobs.submit(third, queue=queue)
    assert a.snapshot().status == jobs.RUNNING
    assert (b.snapshot().status, b.snapshot().position) == (jobs.QUEUED, 1)
    assert (c.snapshot().status, c.snapshot().position) == (jobs.QUEUED, 2)
    assert not second.started.is_set()

    first.run_freely()
    assert a.join(10)
    second.started.wait(5)
    assert b.snapshot().status == jobs.RUNNING
    assert (c.snapshot().status, c.snapshot().position) == (jobs.QUEUED, 1)
    second.run_freely()
    third.run_freely()
    assert b.join(10) and c.join(10)
    assert [j.snapshot().status for j in (a, b, c)] == [jobs.DONE] * 3


def test_queue_is_first_come_first_served():
    queue = jobs.JobQueue(1)
    order = []

    def work_named(name, gate=None):
        def work(on_step, on_epoch, should_stop):
            order.append(name)
            if gate:
                gate.wait(10)
        return work

    gate = threading.Event()
    blocker = jobs.submit(work_named("blocker", gate), queue=queue)
    wait_until(lambda: order == ["blocker"])
    waiting = [jobs.submit(work_named(f"job{i}"), queue=queue) for i in range(5)]
    assert [j.snapshot().position for j in waiting] == [1, 2, 3, 4, 5]
    gate.set()
    assert all(j.join(10) for j in [blocker, *waiting])
    assert order == ["blocker", "job0", "job1", "job2", "job3", "job4"]


def test_cancel_while_queued_never_runs_and_moves_the_line_up():
    queue = jobs.JobQueue(1)
    first, second, third = FakeTraining(2), FakeTraining(2), FakeTraining(2)
    a = jobs.submit(first, queue=queue)
    first.started.wait(5)
    b = jobs.submit(second, queue=queue)
    c = jobs.submit(third, queue=queue)
    b.stop()
    assert b.join(10)
    snap = b.snapshot()
    assert snap.status == jobs.STOPPED
    assert "Cancelled" in snap.error and snap.result is None
    assert c.snapshot().position == 1
    first.run_freely()
    third.run_freely()
    assert a.join(10) and c.join(10)
    assert not second.started.is_set()
    assert c.snapshot().status == jobs.DONE


def test_stop_while_running_takes_effect_at_the_next_step_and_keeps_the_result():
    work = FakeTraining(steps=100)
    job = jobs.submit(work, queue=jobs.JobQueue(1))
    work.tick(3)
    wait_until(lambda: len(job.snapshot().steps) == 3)
    job.stop()
    assert job.snapshot().stop_requested
    work.tick(1)  # the very next step sees the flag
    assert job.join(10)
    snap = job.snapshot()
    assert snap.status == jobs.STOPPED
    assert len(snap.steps) == 3 and work.steps_done == 3
    assert snap.result == {"weights": "learned", "steps": 3}


def test_failure_is_captured_as_a_message_not_raised():
    work = FakeTraining(steps=5, fail_at=3)
    work.run_freely()
    job = jobs.submit(work, queue=jobs.JobQueue(1))
    assert job.join(10)
    snap = job.snapshot()
    assert snap.status == jobs.FAILED
    assert snap.error == "The loss became NaN at step 3: lower the learning rate."
    assert len(snap.steps) == 2  # what happened before the failure stays visible


def test_the_slot_is_released_after_an_exception_so_the_next_job_runs():
    queue = jobs.JobQueue(1)

    def crash(on_step, on_epoch, should_stop):
        raise RuntimeError()

    bad = jobs.submit(crash, queue=queue)
    assert bad.join(10)
    assert bad.snapshot().status == jobs.FAILED
    assert bad.snapshot().error == "RuntimeError"  # no message: the error's name
    assert queue.running_count() == 0 and queue.waiting_count() == 0
    work = FakeTraining(2)
    work.run_freely()
    good = jobs.submit(work, queue=queue)
    assert good.join(10)
    assert good.snapshot().status == jobs.DONE


def test_two_slots_run_two_jobs_at_once_and_queue_the_third():
    queue = jobs.JobQueue(2)
    works = [FakeTraining(2) for _ in range(3)]
    started = [jobs.submit(w, queue=queue) for w in works]
    works[0].started.wait(5)
    works[1].started.wait(5)
    assert [j.snapshot().status for j in started] == [jobs.RUNNING, jobs.RUNNING, jobs.QUEUED]
    assert queue.running_count() == 2
    for w in works:
        w.run_freely()
    assert all(j.join(10) for j in started)


def test_snapshot_is_a_copy_the_worker_cannot_change():
    work = FakeTraining(steps=4)
    job = jobs.submit(work, queue=jobs.JobQueue(1))
    work.tick(1)
    wait_until(lambda: len(job.snapshot().steps) == 1)
    snap = job.snapshot()
    work.run_freely()
    assert job.join(10)
    assert len(snap.steps) == 1 and snap.status == jobs.RUNNING
    assert len(job.snapshot().steps) == 4


@pytest.mark.parametrize("value, slots", [(None, 1), ("3", 3), ("0", 1), ("many", 1)])
def test_number_of_slots_comes_from_the_environment(value, slots):
    environ = {} if value is None else {jobs.SLOTS_ENV: value}
    assert jobs.configured_slots(environ) == slots


def test_a_queue_needs_a_slot():
    with pytest.raises(ValueError):
        jobs.JobQueue(0)


def test_a_finished_job_is_claimed_exactly_once():
    """Pages file a result the first time they see it finished, never twice."""
    work = FakeTraining(steps=2)
    job = jobs.submit(work, queue=jobs.JobQueue(1))
    assert job.claim_if_finished() is None  # still waiting for its first step
    work.run_freely()
    assert job.join(10)
    first = job.claim_if_finished()
    assert first is not None and first.result == {"weights": "learned", "steps": 2}
    assert job.claim_if_finished() is None


def test_a_full_waiting_line_refuses_with_one_sentence_and_takes_jobs_again_once_it_moves():
    queue = jobs.JobQueue(1, max_waiting=2)
    blocker = FakeTraining(2)
    running = jobs.submit(blocker, queue=queue)
    blocker.started.wait(5)
    waiting = [FakeTraining(2) for _ in range(2)]
    queued = [jobs.submit(w, queue=queue) for w in waiting]
    refused = FakeTraining(2)
    with pytest.raises(jobs.QueueFull) as full:
        jobs.submit(refused, queue=queue)
    assert str(full.value) == "2 jobs are waiting already; try again in a minute."
    assert queue.waiting_count() == 2

    queued[1].stop()  # the line moves: room for one more
    assert queued[1].join(10)
    latecomer = FakeTraining(2)
    last = jobs.submit(latecomer, queue=queue)
    assert last.snapshot().position == 2
    for work in (blocker, waiting[0], latecomer):
        work.run_freely()
    assert all(job.join(10) for job in (running, queued[0], last))
    assert [job.snapshot().status for job in (running, queued[0], last)] == [jobs.DONE] * 3
    assert not refused.started.is_set()  # a refused job never runs


def test_one_waiting_job_is_counted_in_the_singular():
    assert str(jobs.QueueFull(1)) == "1 job is waiting already; try again in a minute."


def test_each_kind_has_its_own_line_so_a_busy_fine_tune_slot_does_not_hold_up_training():
    finetune = FakeTraining(2)
    busy = jobs.submit(finetune, kind=jobs.FINETUNE)
    finetune.started.wait(5)
    assert busy.snapshot().status == jobs.RUNNING

    training, computing = FakeTraining(2), FakeTraining(2)
    training.run_freely()
    computing.run_freely()
    trained = jobs.submit(training, kind=jobs.TRAINING)
    computed = jobs.submit(computing, kind=jobs.COMPUTE)
    assert trained.join(10) and computed.join(10)
    assert trained.snapshot().status == computed.snapshot().status == jobs.DONE
    assert busy.snapshot().status == jobs.RUNNING  # still holding its own slot
    finetune.run_freely()
    assert busy.join(10)


def test_jobs_of_one_kind_share_one_queue_with_that_kinds_slots():
    assert jobs.queue_for(jobs.FINETUNE) is jobs.queue_for(jobs.FINETUNE)
    assert jobs.queue_for(jobs.FINETUNE) is not jobs.queue_for(jobs.TRAINING)
    assert jobs.queue_for(jobs.FINETUNE).slots == jobs.configured_slots()
    assert jobs.queue_for(jobs.TRAINING).slots == 2
    assert all(jobs.queue_for(kind).max_waiting == jobs.MAX_WAITING for kind in jobs.KINDS)


def test_an_unknown_kind_is_refused_with_a_sentence():
    with pytest.raises(ValueError, match="Unknown kind of job 'gpu'"):
        jobs.submit(FakeTraining(1), kind="gpu")


def test_a_queue_needs_room_for_a_waiting_job():
    with pytest.raises(ValueError):
        jobs.JobQueue(1, max_waiting=0)


# --------------------------------------------------------------- issue 15: a public audience


class Model:
    """Stands in for a fine-tuned model: only its lifetime matters."""


def test_a_finished_job_does_not_keep_what_its_work_closed_over_alive():
    # The page's closure holds its script globals, among them the previous job and its
    # model: a finished job that kept `work` chained every run's model to the next.
    import gc
    import weakref

    previous_model = Model()
    alive = weakref.ref(previous_model)

    def work(on_step, on_epoch, should_stop, held=[previous_model]):
        return "new model"

    job = jobs.submit(work, queue=jobs.JobQueue(1))
    assert job.join(10)
    del previous_model, work
    gc.collect()
    assert job.snapshot().result == "new model"
    assert alive() is None


def test_forget_result_lets_a_session_keep_only_its_current_model():
    import gc
    import weakref

    job = jobs.submit(lambda on_step, on_epoch, should_stop: Model(), queue=jobs.JobQueue(1))
    assert job.join(10)
    filed = job.claim_if_finished().result  # the page files it as the session's model...
    alive = weakref.ref(filed)
    job.forget_result()
    del filed  # ...and later replaces it with the next run's
    gc.collect()
    assert alive() is None and job.snapshot().status == jobs.DONE


def test_a_job_past_its_wall_time_stops_like_a_stop_click_and_says_why():
    def slow(on_step, on_epoch, should_stop):
        steps = 0
        while not should_stop():
            steps += 1
            on_step(steps)
            threading.Event().wait(0.01)
        return {"steps": steps}

    job = jobs.submit(slow, queue=jobs.JobQueue(1), max_seconds=0.2)
    assert job.join(10)
    snap = job.snapshot()
    assert snap.status == jobs.STOPPED and snap.result["steps"] > 0
    assert "0.2 seconds" in snap.stop_reason and snap.stop_reason.endswith(".")


def test_the_wall_time_cap_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(jobs.MAX_SECONDS_ENV, "600")
    work = FakeTraining(1)
    work.run_freely()
    job = jobs.submit(work, queue=jobs.JobQueue(1))
    assert job.max_seconds == 600 and job.join(10)
    monkeypatch.delenv(jobs.MAX_SECONDS_ENV)
    assert jobs.configured_max_seconds() is None  # no cap unless configured
    work = FakeTraining(1)
    work.run_freely()
    assert jobs.submit(work, queue=jobs.JobQueue(1)).max_seconds is None


def test_a_stop_click_leaves_no_server_reason():
    work = FakeTraining(steps=5)
    job = jobs.submit(work, queue=jobs.JobQueue(1), max_seconds=60)
    work.started.wait(5)
    job.stop()
    work.run_freely()
    assert job.join(10)
    assert job.snapshot().status == jobs.STOPPED and job.snapshot().stop_reason is None


def test_one_session_may_have_only_one_job_waiting():
    queue = jobs.JobQueue(1)
    running = FakeTraining(3)
    jobs.submit(running, queue=queue, owner="other")
    running.started.wait(5)
    mine = jobs.submit(FakeTraining(3), queue=queue, owner="me")
    with pytest.raises(jobs.AlreadyQueued, match="already have a job waiting") as refused:
        jobs.submit(FakeTraining(3), queue=queue, owner="me")
    assert isinstance(refused.value, jobs.QueueFull)  # pages that catch QueueFull show it
    assert queue.waiting_count() == 1
    jobs.submit(FakeTraining(3), queue=queue, owner="someone else").stop()
    mine.stop()
    running.run_freely()
    assert mine.join(10)
    again = FakeTraining(1)
    again.run_freely()
    assert jobs.submit(again, queue=queue, owner="me").join(10)  # once it left the line, a new one is fine


def test_the_presenters_job_goes_to_the_head_of_the_line_even_when_it_is_full():
    queue = jobs.JobQueue(1, max_waiting=2)
    running = FakeTraining(3)
    jobs.submit(running, queue=queue)
    running.started.wait(5)
    visitors = [jobs.submit(FakeTraining(1), queue=queue) for _ in range(2)]
    speaker = jobs.submit(FakeTraining(1), queue=queue, priority=True)
    second_speaker_job = jobs.submit(FakeTraining(1), queue=queue, priority=True)
    assert speaker.snapshot().position == 1 and second_speaker_job.snapshot().position == 2
    assert [v.snapshot().position for v in visitors] == [3, 4]
    for job in [speaker, second_speaker_job, *visitors]:
        job.stop()
    running.run_freely()


@pytest.mark.parametrize("key, configured, expected", [
    ("s3cret", "s3cret", True), ("wrong", "s3cret", False), ("", "s3cret", False),
    (None, "s3cret", False), ("s3cret", "", False), ("", "", False),
])
def test_the_presenter_key_is_compared_with_the_configured_one(monkeypatch, key, configured, expected):
    monkeypatch.setenv(jobs.PRESENTER_KEY_ENV, configured)
    assert jobs.is_presenter(key) is expected
    assert jobs.is_presenter(key, expected=configured) is expected


def test_a_cancelled_waiting_job_does_not_block_its_owners_next_one():
    queue = jobs.JobQueue(1)
    running = FakeTraining(3)
    jobs.submit(running, queue=queue, owner="other")
    running.started.wait(5)
    first = jobs.submit(FakeTraining(3), queue=queue, owner="me")
    first.stop()  # cancelled: its thread leaves the line a moment later
    replacement = jobs.submit(FakeTraining(3), queue=queue, owner="me")
    assert replacement.status == jobs.QUEUED
    replacement.stop()
    running.run_freely()


def test_bounded_work_returns_its_result_and_raises_its_own_errors():
    queue = jobs.JobQueue(1)
    assert jobs.run_bounded(sorted, [3, 1, 2], reverse=True, queue=queue) == [3, 2, 1]
    with pytest.raises(ZeroDivisionError):
        jobs.run_bounded(lambda: 1 / 0, queue=queue)


def test_bounded_work_waits_for_the_one_slot_so_a_crowd_never_runs_at_once():
    queue = jobs.JobQueue(1, max_waiting=20)
    inside, most = [0], [0]
    lock, release = threading.Lock(), threading.Event()

    def heavy(i):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        release.wait(10)
        with lock:
            inside[0] -= 1
        return i

    results = {}
    visitors = [threading.Thread(target=lambda i=i: results.update({i: jobs.run_bounded(heavy, i, queue=queue)}))
                for i in range(8)]
    for visitor in visitors:
        visitor.start()
    wait_until(lambda: queue.waiting_count() == 7)
    release.set()
    for visitor in visitors:
        visitor.join(20)
    assert results == {i: i for i in range(8)} and most[0] == 1


def test_bounded_work_with_no_room_is_a_sentence_and_leaves_the_line():
    queue = jobs.JobQueue(1, max_waiting=1)
    holder = FakeTraining(1)
    jobs.submit(holder, queue=queue)
    holder.started.wait(5)
    with pytest.raises(jobs.Busy, match="busy with other visitors' work"):
        jobs.run_bounded(sorted, [1], queue=queue, wait_seconds=0.2)
    wait_until(lambda: queue.waiting_count() == 0)
    waiting = FakeTraining(1)
    waiting.run_freely()
    jobs.submit(waiting, queue=queue)  # the one waiting place is free again
    with pytest.raises(jobs.QueueFull, match="waiting already"):
        jobs.run_bounded(sorted, [1], queue=queue)
    holder.run_freely()


def test_page_runs_wait_only_while_a_presenters_job_runs():
    wait_until(lambda: not jobs.page_turns().gating())       # no earlier test's presenter job in its grace
    with jobs.page_run_turn(presenter=False) as waited:                 # nobody presenting: no waiting
        assert waited is False
    visitor_training = FakeTraining(2)
    busy = jobs.submit(visitor_training, kind=jobs.FINETUNE)            # a visitor's run is no reason to wait
    visitor_training.started.wait(5)
    assert not jobs.presenter_job_running()
    visitor_training.run_freely()
    assert busy.join(10)
    speaker_training = FakeTraining(2)
    speakers = jobs.submit(speaker_training, kind=jobs.FINETUNE, priority=True)
    speaker_training.started.wait(5)
    assert jobs.presenter_job_running()
    with jobs.page_run_turn(presenter=True) as waited:                  # the speaker's own page never waits
        assert waited is False
    speaker_training.run_freely()
    assert speakers.join(10)
    assert jobs.page_turns().gating()                         # a grace period for the speaker's results page
    wait_until(lambda: not jobs.page_turns().gating())


def test_while_the_presenter_trains_visitors_go_one_at_a_time_and_leave_it_three_quarters_of_the_time():
    presenting = threading.Event()
    presenting.set()
    turns = jobs.PageTurns(share=0.25, presenter_running=presenting.is_set)
    log, lock = [], threading.Lock()

    def visitor(name):
        with turns.turn(presenter=False, wait_seconds=10):
            with lock:
                log.append((name, "in", time.monotonic()))
            time.sleep(0.1)                                              # a 0.1 s page run
            with lock:
                log.append((name, "out", time.monotonic()))

    threads = [threading.Thread(target=visitor, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    events = [kind for _, kind, _ in log]
    assert events == ["in", "out"] * 3                                   # never two at once
    gaps = [log[i + 1][2] - log[i][2] for i in range(1, 5, 2)]           # an "out" to the next "in"
    assert all(gap >= 0.25 for gap in gaps), gaps                        # 0.1 s run -> ~0.3 s asleep


def test_when_the_presenters_job_ends_everyone_waiting_goes_at_once():
    presenting = threading.Event()
    presenting.set()
    turns = jobs.PageTurns(share=0.01, presenter_running=presenting.is_set,   # a gap of 99x the run
                           grace_seconds=0.5)
    entered = []

    def visitor(name, seconds):
        with turns.turn(presenter=False, wait_seconds=30):
            entered.append(name)
            time.sleep(seconds)

    first = threading.Thread(target=visitor, args=("first", 0.1))
    first.start()
    wait_until(lambda: entered == ["first"])
    first.join(5)                                                        # the next may start in ~10 s
    waiting = [threading.Thread(target=visitor, args=(n, 0)) for n in ("a", "b")]
    for thread in waiting:
        thread.start()
    time.sleep(0.3)
    assert entered == ["first"]
    presenting.clear()
    turns.presenter_may_have_ended()
    time.sleep(0.25)
    assert entered == ["first"]                  # the grace period: the speaker's page draws first
    for thread in waiting:
        thread.join(3)
    assert sorted(entered) == ["a", "b", "first"]


def test_a_visitor_waits_for_a_page_turn_at_most_its_limit_then_runs_anyway():
    presenting = threading.Event()
    presenting.set()
    turns = jobs.PageTurns(presenter_running=presenting.is_set)
    inside, leave = threading.Event(), threading.Event()

    def holder():
        with turns.turn(presenter=False):
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    inside.wait(5)
    started = time.monotonic()
    with turns.turn(presenter=False, wait_seconds=0.2) as waited:
        assert waited is True
    assert 0.15 < time.monotonic() - started < 2
    leave.set()
    thread.join(5)
