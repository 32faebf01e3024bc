"""Chapter 4 in a real browser at 1280x720: each lesson is a page; the precomputed
results appear at once, choosing another layer redraws the spectrum, and no
exception box appears anywhere."""

import pytest
from browser import assert_no_exception, open_page, screenshot, wait_idle


@pytest.mark.browser
def test_lesson_pages_show_precomputed_results_and_redraw_on_a_choice(page):
    open_page(page, "ch4_diverse")
    assert_no_exception(page)
    page.get_by_role("heading", name="Diverse data").first.wait_for()
    page.get_by_text("Recorded").first.wait_for()
    page.get_by_text("Three training sets, judged on sentences no run trained on").first.wait_for()
    screenshot(page, "ch4-lesson1")

    open_page(page, "ch4_weights")
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

    open_page(page, "ch4_hardware")
    page.get_by_text("Full-model training steps per second").first.wait_for()
    page.get_by_text("CPU (the talk's)").first.wait_for()
    assert_no_exception(page)
    screenshot(page, "ch4-hardware")
