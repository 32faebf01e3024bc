"""Chapter 5 in a real browser at 1280x720: each page's point is on the first screen,
one interaction per page changes what it shows, and no exception box appears."""

import pytest
from browser import assert_no_exception, open_page, screenshot, wait_idle

SCREEN_HEIGHT = 720


def on_first_screen(tab, locator) -> None:
    """`locator` is drawn entirely inside the first 720 px of the page, before any scrolling."""
    tab.evaluate("window.scrollTo(0, 0)")
    locator.wait_for()
    box = locator.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= SCREEN_HEIGHT, box


def metric(tab, label: str):
    return tab.locator('[data-testid="stMetric"]').filter(has_text=label).first


def metric_value(tab, label: str) -> str:
    return metric(tab, label).locator('[data-testid="stMetricValue"]').inner_text()


def nudge(tab, slider_name: str, key: str, times: int) -> None:
    slider = tab.get_by_role("slider", name=slider_name).first
    slider.focus()
    for _ in range(times):
        slider.press(key)
        tab.wait_for_timeout(80)
    wait_idle(tab)


@pytest.mark.browser
def test_rules_page_scores_on_the_first_screen_and_an_edit_rescores(page):
    open_page(page, "ch5_rules")
    assert_no_exception(page)
    on_first_screen(page, metric(page, "Right on eval"))
    before = metric_value(page, "Right on eval")
    box = page.get_by_role("textbox", name="Keyword rules").first
    box.fill("price: expensive, price, cost\notherwise: unknown\n")
    page.get_by_role("heading", name="Rules first").first.click()     # leaving the box commits it
    wait_idle(page)
    after = metric_value(page, "Right on eval")
    assert after != before
    assert_no_exception(page)
    screenshot(page, "ch5-rules")


@pytest.mark.browser
def test_competition_pick_and_table_on_the_first_screen_and_the_bar_moves_the_pick(page):
    open_page(page, "ch5_compete")
    assert_no_exception(page)
    pick = page.locator('[data-testid="stAlert"]').filter(has_text="or better, the cheapest is").first
    on_first_screen(page, pick)
    table = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
    assert table["y"] + 4 * 38 <= SCREEN_HEIGHT, table            # its header and first three rows
    assert "At 90% or better" in pick.inner_text()
    nudge(page, "Good enough: minimum accuracy", "ArrowLeft", 30)     # 0.90 -> 0.60
    assert "At 60% or better, the cheapest is keyword rules" in pick.inner_text()
    assert_no_exception(page)
    screenshot(page, "ch5-compete")


@pytest.mark.browser
def test_fraud_page_shows_the_trap_first_and_the_threshold_prices_a_move(page):
    open_page(page, "ch5_fraud")
    assert_no_exception(page)
    on_first_screen(page, metric(page, "accuracy"))
    assert metric_value(page, "accuracy") == "99.2%"
    assert metric_value(page, "frauds caught") == "0 of 48"
    metric(page, "cost here").wait_for(timeout=120_000)     # the four models, fitted in the background
    wait_idle(page)
    on_first_screen(page, metric(page, "cost here"))
    before = metric_value(page, "cost here")
    nudge(page, "Threshold: flag at or above this fraud score", "ArrowLeft", 30)   # 0.50 -> 0.20
    assert metric_value(page, "cost here") != before
    assert_no_exception(page)
    screenshot(page, "ch5-fraud")


@pytest.mark.browser
def test_labelling_game_on_the_first_screen_and_ten_labels_add_a_point(page):
    open_page(page, "ch5_labels")
    assert_no_exception(page)
    retrain = page.get_by_role("button", name="Retrain")
    retrain.wait_for(timeout=180_000)                                   # BERT reads the pool once per server
    wait_idle(page)
    on_first_screen(page, retrain)
    on_first_screen(page, page.get_by_text("8 labels so far").first)
    page.get_by_role("button", name="Fill in").click()
    wait_idle(page)
    page.get_by_role("button", name="Retrain").click()
    page.get_by_text("18 labels so far").first.wait_for(timeout=60_000)
    wait_idle(page)
    assert_no_exception(page)
    screenshot(page, "ch5-labels")
