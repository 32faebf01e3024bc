"""Chapter 6 in a real browser at 1280x720: each page renders with its point on the first
screen, one interaction each (open a panel, move a knob, run the bounded load test, retrain),
and no exception box appears."""

import pytest
from browser import assert_no_exception, open_page, screenshot, wait_idle

FIRST_SCREEN = 720


def on_first_screen(tab, locator):
    locator.wait_for(timeout=90_000)
    box = locator.bounding_box()
    assert box is not None and box["y"] + box["height"] <= FIRST_SCREEN, box


@pytest.mark.browser
def test_code_plus_numbers_shows_the_count_and_what_changed(page):
    open_page(page, "ch6_numbers")
    on_first_screen(page, page.get_by_text("numbers in the model").first)
    on_first_screen(page, page.get_by_text("numbers the fine-tune changed").first)
    page.get_by_text("You have no fine-tuned model yet").first.wait_for()
    page.get_by_text("Open another model").first.click()
    page.get_by_text("Fine-tuned model (.zip)").first.wait_for()
    assert_no_exception(page)
    screenshot(page, "ch6-numbers")


@pytest.mark.browser
def test_pretrained_vs_scratch_shows_both_curves_at_once(page):
    open_page(page, "ch6_scratch")
    on_first_screen(page, page.locator('[data-testid="stPlotlyChart"]').first)
    page.get_by_text("random numbers (from scratch)").first.wait_for()
    epochs = page.get_by_role("slider", name="Epochs (each start)")
    epochs.focus()
    epochs.press("ArrowLeft")
    wait_idle(page)
    assert page.locator('[data-testid="stSliderThumbValue"]').first.inner_text() == "3"
    assert_no_exception(page)
    screenshot(page, "ch6-scratch")


@pytest.mark.browser
def test_serving_runs_a_bounded_load_and_shows_percentiles(page):
    open_page(page, "ch6_serving")
    start = page.get_by_role("button", name="Run the load test")
    on_first_screen(page, start)
    start.click()
    page.get_by_text("Measured here at").first.wait_for(timeout=120_000)
    page.get_by_text("Latency: arrival to answer").first.wait_for()
    assert_no_exception(page)
    screenshot(page, "ch6-serving")


@pytest.mark.browser
def test_retrain_makes_v2(page):
    open_page(page, "ch6_monitor")
    on_first_screen(page, page.locator('[data-testid="stPlotlyChart"]').first)
    retrain = page.get_by_role("button", name="Retrain on weeks")
    on_first_screen(page, retrain)
    retrain.click()
    wait_idle(page)
    page.get_by_text("Trained v2 on weeks").first.wait_for()
    assert_no_exception(page)
    screenshot(page, "ch6-monitor")
