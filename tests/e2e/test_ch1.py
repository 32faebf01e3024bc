"""Chapter 1 in a real browser: every page opens, a control moves, the page updates,
live training draws as it runs and its Stop button works; screenshots at 1280×720."""

import pytest
from browser import assert_no_exception, open_page, screenshot, wait_idle


def metric_value(tab, label: str) -> str:
    metric = tab.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def set_number(tab, key: str, value) -> None:
    box = tab.locator(f".st-key-{key} input")
    box.fill(str(value))
    box.press("Enter")
    wait_idle(tab)


@pytest.mark.browser
def test_multiplication_page_updates_when_the_weight_moves(page):
    open_page(page, "ch1_multiplication")
    assert_no_exception(page)
    assert metric_value(page, "Prediction") == "0.6"
    screenshot(page, "ch1-multiplication")
    slider = page.get_by_role("slider", name="Weight")
    slider.focus()
    slider.press("ArrowRight")
    slider.press("ArrowRight")
    wait_idle(page)
    assert metric_value(page, "Prediction") == "0.9"  # 3 × 0.3
    set_number(page, "ch1m_n", 15)
    assert page.get_by_text("[0, 0]").first.is_visible()
    assert_no_exception(page)


@pytest.mark.browser
def test_confidence_page_shows_0_6_then_breaks_with_negative_scores(page):
    open_page(page, "ch1_confidence")
    assert metric_value(page, "Confidence in fizz (divide by total)") == "0.60"
    screenshot(page, "ch1-confidence")
    page.locator(".st-key-ch1c_negative button").click()
    wait_idle(page)
    assert page.get_by_text("That is not a probability").is_visible()
    assert float(metric_value(page, "Confidence in fizz (divide by total)")) > 1
    assert_no_exception(page)


@pytest.mark.browser
def test_learning_page_trains_live_to_100_percent_and_stops_on_request(page):
    open_page(page, "ch1_learning")
    assert_no_exception(page)
    page.locator(".st-key-ch1l_train button").click()
    # Drawn by the polling fragment while the worker thread trains.
    page.get_by_text("Finished after 500 epochs: 100/100 right").wait_for(timeout=90_000)
    wait_idle(page)
    assert metric_value(page, "Right on 1..100") == "100%"
    assert metric_value(page, "fizzbuzz right") == "6/6"
    assert_no_exception(page)
    screenshot(page, "ch1-learning-trained")

    # A long run, stopped half-way: the page stays alive and says where it stopped.
    set_number(page, "ch1l_epochs", 20000)
    page.locator(".st-key-ch1l_train button").click()
    page.get_by_text("Training… epoch").wait_for(timeout=30_000)
    page.locator(".st-key-ch1l_stop button").click()
    page.get_by_text("Stopped after").wait_for(timeout=30_000)
    wait_idle(page)
    assert_no_exception(page)

    # A learning rate that diverges: a message, no traceback.
    set_number(page, "ch1l_epochs", 500)
    set_number(page, "ch1l_lr", 100)
    page.locator(".st-key-ch1l_train button").click()
    page.get_by_text("Training diverged").wait_for(timeout=30_000)
    assert_no_exception(page)
    screenshot(page, "ch1-learning-diverged")


@pytest.mark.browser
def test_framework_page_trains_numpy_and_torch_to_the_same_weights(page):
    open_page(page, "ch1_framework")
    code = page.locator('[data-testid="stCode"]')
    code.filter(has_text="def backward(").wait_for(timeout=30_000)
    page.get_by_role("tab", name="The framework way").click()
    code.filter(has_text="nn.Sequential(").wait_for(timeout=10_000)
    page.locator(".st-key-ch1f_train button").click()
    page.get_by_text("Weights differ by").wait_for(timeout=120_000)
    wait_idle(page)
    assert metric_value(page, "NumPy: right on 1..100") == metric_value(page, "PyTorch: right on 1..100") == "100/100"
    assert_no_exception(page)
    screenshot(page, "ch1-framework")
