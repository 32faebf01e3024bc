"""Chapter 4 in a real browser at 1280x720: the precomputed lessons appear at
once, switching to another lesson's tab shows its chart, choosing another layer
redraws the spectrum, and no exception box appears anywhere."""

import pytest
from browser import assert_no_exception, open_page, screenshot, wait_idle

PAGE = "ch4_lessons"


@pytest.mark.browser
def test_lessons_page_shows_precomputed_results_and_switches_tabs(page):
    open_page(page, PAGE)
    assert_no_exception(page)
    page.get_by_role("heading", name="Lessons as experiments").wait_for()
    page.get_by_text("Showing the precomputed results shipped with the app").first.wait_for()
    # Lesson 1 is open: its bar chart is drawn.
    page.get_by_text("Same unseen sentences, three training sets").first.wait_for()
    screenshot(page, "ch4-lesson1")

    page.get_by_role("tab", name="6 · Weights").click()
    wait_idle(page)
    page.get_by_text("alpha of every weight matrix").first.wait_for()
    page.get_by_text("L0 ffn-in: eigenvalue spectrum").first.wait_for()

    # Choose another layer: the log-log spectrum is redrawn for it.
    layer = page.get_by_role("combobox", name="Layer to look inside")
    layer.click()
    layer.fill("L1 query")
    layer.press("Enter")
    wait_idle(page)
    page.get_by_text("L1 query: eigenvalue spectrum").first.wait_for()
    assert_no_exception(page)
    screenshot(page, "ch4-weights")

    page.get_by_role("tab", name="7 · Hardware").click()
    wait_idle(page)
    page.get_by_text("Training steps per second").first.wait_for()
    page.get_by_text("CPU (from the talk)").first.wait_for()
    assert_no_exception(page)
    screenshot(page, "ch4-hardware")
