"""Chapter 1's pages in AppTest: what a visitor reads after moving a control.

The live view of a training job polls with run_every, which AppTest doesn't tick: the
tests join the job the page started, then rerun to see the result."""

import json
import math
import threading
from pathlib import Path

import pytest
import apptest_pages
from streamlit.testing.v1 import AppTest

from core import jobs

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


def open_page(name: str) -> AppTest:
    return apptest_pages.open_page(name, timeout=60)


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def texts(elements) -> str:
    return " ".join(e.value for e in elements)


def chart_spec(at, index: int) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def train_and_wait(at) -> AppTest:
    """Press Train, wait for the job the page started, and redraw."""
    at.button(key="ch1l_train").click().run()
    job = at.session_state["ch1l_job"]
    job.join(timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# --- page 1 -------------------------------------------------------------------------------

def test_multiplication_page_shows_3_times_0_2_and_the_weighted_sum_2_1():
    at = open_page("ch1_multiplication")
    assert metrics(at)["Prediction"] == "0.6"
    page = texts(at.markdown)
    assert "[0, 3]" in page
    assert "0 × 0.5 + 3 × 0.7 = 0 + 2.1 = 2.1" in page

    at.slider(key="ch1m_weight").set_value(0.5).run()
    assert metrics(at)["Prediction"] == "1.5"


def test_multiplication_page_scores_every_class_and_redraws_the_bars_for_a_new_number():
    at = open_page("ch1_multiplication")
    bars = chart_spec(at, 0)["data"][0]
    assert bars["x"] == ["fizz", "buzz", "fizzbuzz", "none"]
    assert bars["y"][0] == pytest.approx(2.1)

    at.number_input(key="ch1m_n").set_value(10).run()
    assert "[1, 0]" in texts(at.markdown) and "buzz" in texts(at.markdown)
    assert chart_spec(at, 0)["data"][0]["y"] == pytest.approx([0.5, 0.3, 0.2, 0.1])


def test_multiplication_page_refuses_an_out_of_range_number_politely():
    at = open_page("ch1_multiplication")
    at.number_input(key="ch1m_n").set_value(-4).run()
    assert not at.exception
    assert "between 1 and 1,000,000" in texts(at.error)


# --- page 2 ---------------------------------------------------------------------------------

def test_confidence_page_computes_0_60_and_keeps_the_talks_0_58_and_0_25_apart_as_the_talks():
    at = open_page("ch1_confidence")
    shown = metrics(at)
    # Computed here from the talk's scores 0.89, 0.3, 0.3: 0.60, and an error of 0.243.
    assert shown["Confidence in fizz (divide by total)"] == "0.60"
    assert float(shown["Confidence in fizz (softmax)"]) < 0.6
    first_error = next(m.value for m in at.metric if m.label == "Squared error")  # section 2, not the slider's
    assert float(first_error) == pytest.approx(0.243, abs=0.001)
    # The talk's own numbers, word for word, labelled as the talk's; the scores that
    # produce them labelled as ours.
    said = texts(at.info)
    assert "**The talk said:**" in said and "**0.58, 0.20, 0.20**" in said
    assert "58% confident that the input of 3 is fizz" in said
    assert "**Ours, not the talk's:**" in said and "[0.87, 0.30, 0.30, 0.03]" in said and "[0.58, 0.20, 0.20, 0.02]" in said
    error_words = texts(at.caption)
    assert "**The talk said** its error was **0.25**" in error_words and "**0.256**" in error_words


def test_negative_scores_show_why_dividing_by_the_total_breaks():
    at = open_page("ch1_confidence")
    at.button(key="ch1c_negative").click().run()
    assert "not a probability" in texts(at.warning)
    divided = float(metrics(at)["Confidence in fizz (divide by total)"])
    softmaxed = float(metrics(at)["Confidence in fizz (softmax)"])
    assert divided > 1 and 0 < softmaxed < 1


def test_a_huge_score_still_gets_a_softmax_and_no_traceback():
    """e^1000 overflows a float: the page must shift the scores the way softmax does."""
    at = open_page("ch1_confidence")
    at.number_input(key="ch1c_score_fizz").set_value(1000.0).run()
    assert not at.exception, [e.value for e in at.exception]
    assert metrics(at)["Confidence in fizz (softmax)"] == "1.00"
    assert "lowered by 1,000" in texts(at.caption)


def test_when_dividing_by_the_total_breaks_the_errors_are_measured_on_softmax():
    at = open_page("ch1_confidence")
    at.number_input(key="ch1c_score_fizz").set_value(-1.0).run()  # total −0.4: fizz gets 2.5
    assert float(metrics(at)["Confidence in fizz (divide by total)"]) == pytest.approx(2.5)
    assert "softmax confidences" in texts(at.markdown)
    softmax_fizz = float(metrics(at)["Confidence in fizz (softmax)"])
    # Section 2's cross-entropy (section 3 has its own): −log of the softmax confidence,
    # not of the impossible 2.5.
    cross_entropy = float(next(m.value for m in at.metric if m.label == "Cross-entropy"))
    assert cross_entropy == pytest.approx(-math.log(softmax_fizz), abs=0.05)
    assert cross_entropy > 1


def test_moving_the_prediction_changes_both_errors():
    at = open_page("ch1_confidence")
    at.slider(key="ch1c_p").set_value(0.9).run()
    shown = metrics(at)
    assert float(shown["Cross-entropy"]) == pytest.approx(0.105, abs=0.001)
    at.slider(key="ch1c_p").set_value(0.2).run()
    assert float(metrics(at)["Cross-entropy"]) == pytest.approx(1.61, abs=0.006)


# --- page 3 ---------------------------------------------------------------------------------

def test_the_hidden_layer_network_gets_all_of_1_to_100_right_with_the_default_knobs():
    at = train_and_wait(open_page("ch1_learning"))
    shown = metrics(at)
    assert shown["Right on 1..100"] == "100%"
    assert shown["fizzbuzz right"] == "6/6"
    assert "100/100 right" in texts(at.success)
    assert "The network's answer for 1..100 — 100/100 right" in texts(at.markdown)
    # Inside the network for 15: the trained weights' real arithmetic.
    code = "\n".join(c.value for c in at.code)
    assert "h1 = relu(" in code and "softmax → " in code
    assert "15** → inputs **[0, 0]** → the network says **fizzbuzz**" in texts(at.markdown)
    grid = chart_spec(at, 2)
    assert sum(len(trace["x"]) for trace in grid["data"] if trace["mode"] == "markers+text") == 100


def test_the_talks_single_layer_network_never_gets_fizzbuzz_right():
    at = open_page("ch1_learning")
    at.button(key="ch1l_preset_single").click().run()
    assert at.number_input(key="ch1l_hidden").value == 0
    at = train_and_wait(at)
    shown = metrics(at)
    assert shown["fizzbuzz right"] == "0/6"
    assert shown["fizz right"] == "27/27" and shown["buzz right"] == "14/14"
    # The run meant to fail does not end in a green success, whatever its score.
    assert "Finished after" not in texts(at.success)
    assert "94/100 right on 1..100 — but **fizzbuzz** never right" in texts(at.warning)


def test_a_diverging_learning_rate_gets_a_message_and_keeps_the_trained_network():
    at = train_and_wait(open_page("ch1_learning"))
    assert metrics(at)["Right on 1..100"] == "100%"

    at.number_input(key="ch1l_lr").set_value(100.0).run()
    at = train_and_wait(at)
    assert "diverged" in texts(at.error) and "learning rate is too large" in texts(at.error)
    # The network trained before is still the one shown.
    assert metrics(at)["Right on 1..100"] == "100%"
    assert any("Kept: your previous network" in c.value for c in at.caption)


def test_stop_ends_a_long_run_early_and_keeps_the_network_it_reached():
    at = open_page("ch1_learning")
    at.number_input(key="ch1l_epochs").set_value(20_000).run()
    at.button(key="ch1l_train").click().run()
    assert not at.button(key="ch1l_stop").disabled
    at.button(key="ch1l_stop").click().run()
    job = at.session_state["ch1l_job"]
    assert job.join(timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Stopped after" in texts(at.success) + texts(at.info) + texts(at.warning)
    assert at.button(key="ch1l_stop").disabled
    assert "at epoch" in texts(at.markdown)  # section 4 explains the network it stopped with


def test_a_full_training_queue_gets_a_sentence_and_starts_nothing():
    line = jobs.queue_for(jobs.TRAINING)
    gate = threading.Event()
    hold = [jobs.submit(lambda on_step, on_epoch, should_stop: gate.wait(60), kind=jobs.TRAINING)
            for _ in range(line.slots + line.max_waiting)]
    try:
        at = open_page("ch1_learning")
        at.button(key="ch1l_train").click().run()
        assert not at.exception
        assert f"{line.max_waiting} jobs are waiting already; try again in a minute." in texts(at.error)
        assert "ch1l_job" not in at.session_state
    finally:
        gate.set()
        assert all(job.join(60) for job in hold)


@pytest.mark.parametrize("key, value, message", [
    ("ch1l_hidden", 1000, "Hidden size must be between 0 and 256"),
    ("ch1l_epochs", 0, "Epochs must be between 1"),
    ("ch1l_lr", -0.5, "Learning rate must be between"),
])
def test_out_of_range_knobs_get_a_message_and_training_does_not_start(key, value, message):
    at = open_page("ch1_learning")
    at.number_input(key=key).set_value(value).run()
    assert message in texts(at.error)
    at.button(key="ch1l_train").click().run()
    assert not at.exception
    assert "Press **Train**" in texts(at.info)  # still waiting: nothing started
    assert "Training…" not in texts(at.info)
    assert "Finished after" not in texts(at.success) + texts(at.info) + texts(at.warning)


def test_a_falling_error_shows_a_downward_green_delta():
    at = open_page("ch1_learning")
    shown = next(m for m in at.metric if m.label == "Error after the last step")
    # An ASCII minus: Streamlit reads the sign from the text, and a Unicode "−" was read as a rise.
    assert shown.delta.startswith("-") and "−" not in shown.delta


def test_one_weight_gradient_descent_warns_when_the_learning_rate_diverges():
    at = open_page("ch1_learning")
    assert "Good" in texts(at.success)
    at.radio(key="ch1l_gd_lr").set_value("0.12 (diverges)").run()
    assert "divergence" in texts(at.error)


def test_relu_on_its_own():
    at = open_page("ch1_learning")
    assert "relu([−1, 2, 0]) = **[0, 2, 0]**" in texts(at.markdown)


# --- page 4 ---------------------------------------------------------------------------------

def test_numpy_and_torch_reach_the_same_network():
    at = open_page("ch1_framework")
    code = "\n".join(c.value for c in at.code)
    assert "def backward(" in code and "nn.Sequential(" in code and "loss.backward()" in code
    at.number_input(key="ch1f_epochs").set_value(200).run()
    at.button(key="ch1f_train").click().run()
    assert not at.exception
    shown = metrics(at)
    assert shown["NumPy: right on 1..100"] == shown["PyTorch: right on 1..100"] == "100/100"
    assert float(shown["Weights differ by"]) < 1e-9


def test_framework_page_refuses_bad_knobs_and_reports_divergence_keeping_the_last_comparison():
    at = open_page("ch1_framework")
    at.number_input(key="ch1f_epochs").set_value(100).run()
    at.button(key="ch1f_train").click().run()
    before = metrics(at)["NumPy: right on 1..100"]

    at.number_input(key="ch1f_epochs").set_value(6000).run()
    assert "between 1 and 5,000 on this page" in texts(at.error)
    at.button(key="ch1f_train").click().run()
    assert not at.exception and metrics(at)["NumPy: right on 1..100"] == before

    at.number_input(key="ch1f_epochs").set_value(100).run()
    at.number_input(key="ch1f_lr").set_value(100.0).run()
    at.button(key="ch1f_train").click().run()
    assert not at.exception
    assert "Training diverged" in texts(at.error) and "PyTorch training diverged" in texts(at.error)


def test_knobs_and_the_trained_network_survive_leaving_the_page():
    at = train_and_wait(open_page("ch1_learning"))
    at.number_input(key="ch1l_hidden").set_value(5).run()
    at.switch_page("pages/ch1_multiplication.py").run()
    at.slider(key="ch1m_weight").set_value(0.5).run()
    at.switch_page("pages/ch1_learning.py").run()
    assert at.number_input(key="ch1l_hidden").value == 5
    assert metrics(at)["Right on 1..100"] == "100%"  # the network trained before leaving
    at.switch_page("pages/ch1_multiplication.py").run()
    assert metrics(at)["Prediction"] == "1.5"
