"""Chapter 1's FizzBuzz training as a background job: what the live page relies on."""

import threading

import pytest

from core import fizzbuzz_training as training
from core import jobs, scratch


def run_as_job(config, queue=None, **options):
    work = training.training_work(config, **options)
    return jobs.submit(work, meta={"config": config}, kind=jobs.TRAINING, queue=queue)


def test_a_run_as_a_job_reports_every_checkpoint_and_ends_with_the_trained_network():
    config = scratch.TrainConfig(epochs=200)
    job = run_as_job(config, report_every=20)
    assert job.join(60)
    snap = job.snapshot()
    assert snap.status == jobs.DONE
    assert [c.epoch for c in snap.epochs] == [1] + list(range(20, 201, 20))
    assert [p.epoch for p in snap.steps] == [c.epoch for c in snap.epochs]
    result = snap.result
    assert result.status == "done" and result.history == snap.epochs
    assert result.params is snap.last_step.params  # the grid drawn live is the network kept

    state = training.live_state(snap, config)
    assert (state.status, state.epoch, state.finished) == ("done", 200, True)
    assert state.params is result.params


def test_the_same_run_as_a_job_and_by_hand_ends_with_the_same_weights():
    config = scratch.TrainConfig(epochs=120)
    job = run_as_job(config, report_every=10)
    assert job.join(60)
    by_hand = scratch.run_training(config, report_every=10)
    for name, weights in by_hand.params.items():
        assert (job.snapshot().result.params[name] == weights).all()


def test_checkpoints_are_bounded_however_many_epochs():
    config = scratch.TrainConfig(epochs=20_000)
    assert training.checkpoint_interval(config) == 20_000 // training.CHECKPOINTS
    assert training.checkpoint_interval(scratch.TrainConfig(epochs=5)) == 1


def test_stop_takes_effect_within_one_epoch_and_keeps_the_weights_it_stopped_with():
    """should_stop() is asked once per epoch: saying yes at the 7th question stops at epoch 7,
    between two checkpoints, and that epoch's weights are reported and kept."""
    asked = []
    steps = []

    def stop_at_seventh():
        asked.append(True)
        return len(asked) == 7

    work = training.training_work(scratch.TrainConfig(epochs=20_000), report_every=5)
    result = work(steps.append, lambda checkpoint: None, stop_at_seventh)
    assert result.status == "stopped" and result.message == "Stopped at epoch 7."
    assert len(asked) == 7
    assert [p.epoch for p in steps] == [1, 5, 7]
    assert result.params is steps[-1].params
    assert [c.epoch for c in result.history] == [1, 5]


def test_stopping_a_running_job_ends_it_early_as_stopped():
    config = scratch.TrainConfig(epochs=20_000)
    job = run_as_job(config, report_every=10, pause_seconds=0.01)
    for _ in range(1000):  # wait for the first checkpoint: it is running
        if job.snapshot().steps:
            break
        threading.Event().wait(0.01)
    assert training.live_state(job.snapshot(), config).status == "running"
    job.stop()
    assert job.join(60)
    state = training.live_state(job.snapshot(), config)
    assert state.status == "stopped" and 0 < state.epoch < 20_000
    assert state.message == f"Stopped at epoch {state.epoch:,}."


def test_a_diverging_run_is_a_result_with_its_message_not_a_failed_job():
    config = scratch.TrainConfig(learning_rate=100)
    job = run_as_job(config)
    assert job.join(60)
    snap = job.snapshot()
    assert snap.status == jobs.DONE and snap.error is None
    state = training.live_state(snap, config)
    assert state.status == "diverged"
    assert state.message.startswith("Training diverged at epoch") and "learning rate is too large" in state.message
    assert scratch.finite(state.params)  # the last weights that still made sense


def test_a_queued_run_shows_its_place_and_the_untrained_network_and_can_be_cancelled():
    queue = jobs.JobQueue(1)
    gate = threading.Event()
    blocker = jobs.submit(lambda on_step, on_epoch, should_stop: gate.wait(10), queue=queue)
    config = scratch.TrainConfig()
    job = run_as_job(config, queue=queue)
    state = training.live_state(job.snapshot(), config)
    assert (state.status, state.position, state.epoch, state.finished) == ("queued", 1, 0, False)
    untrained = training.untrained(config)
    assert all((state.params[name] == untrained[name]).all() for name in untrained)

    job.stop()
    assert job.join(10)
    state = training.live_state(job.snapshot(), config)
    assert state.status == "cancelled" and "Cancelled" in state.message
    gate.set()
    assert blocker.join(10)


def test_a_crash_in_training_is_shown_as_failed_with_its_message(monkeypatch):
    def broken(config, params=None, report_every=10):
        raise MemoryError("Not enough memory for this network.")
        yield

    monkeypatch.setattr(scratch, "train", broken)
    config = scratch.TrainConfig()
    job = run_as_job(config)
    assert job.join(10)
    state = training.live_state(job.snapshot(), config)
    assert state.status == "failed" and state.message == "Not enough memory for this network."


def test_knobs_out_of_range_are_refused_before_any_work():
    with pytest.raises(ValueError, match="Hidden size must be between 0 and 256"):
        training.training_work(scratch.TrainConfig(hidden_size=1000))
