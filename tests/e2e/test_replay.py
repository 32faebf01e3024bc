"""A chapter 3 replay in a real browser: Replay sits beside Start, the replay is
labelled as one, its first point shows on the live chart, and it plays to the
recorded results without a traceback."""

import pytest
from browser import assert_no_exception, open_page, wait_idle

STEP_CHART = '.js-plotly-plot:has-text("Each step: loss and batch accuracy")'


def replay_button(tab):
    return tab.get_by_role("button", name="Replay", exact=True)


@pytest.mark.browser
def test_chapter_3_replay_plays_through_the_live_charts_to_the_recorded_results(page):
    open_page(page, "ch3_finetune")
    start = page.get_by_role("button", name="Start fine-tuning")
    start.wait_for(timeout=60_000)
    start_box, replay_box = start.bounding_box(), replay_button(page).bounding_box()
    assert abs(start_box["y"] - replay_box["y"]) < start_box["height"]   # the same row
    assert replay_box["x"] > start_box["x"] + start_box["width"] - 1    # right beside it

    replay_button(page).click()
    page.get_by_text("Replay of a run recorded").first.wait_for(timeout=30_000)
    # The first point: a drawn line on the step chart (generous wait, nothing timed).
    page.locator(f"{STEP_CHART} .scatterlayer path.js-line").first.wait_for(timeout=30_000)
    assert_no_exception(page)
    page.get_by_text("Confusion matrix (evaluation sentences)").first.wait_for(timeout=90_000)
    wait_idle(page)
    assert_no_exception(page)
    body = page.locator("body").inner_text()
    assert "Evaluation accuracy" in body and "it has no model" in body
