"""What a newcomer sees at 1280x720: the framework page's button on the first screen with
its code unwrapped, and the embedding map's title clear of its legend."""

import pytest
from browser import assert_no_exception, open_page

@pytest.mark.browser
def test_the_framework_page_button_is_on_the_first_screen_and_its_code_keeps_its_lines(page):
    open_page(page, "ch1_framework")
    button = page.get_by_role("button", name="Train both").bounding_box()
    assert button and button["y"] + button["height"] <= 720
    page.locator('[data-testid="stCode"] pre').first.wait_for()
    wrapping = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stCode"] pre')]
        .filter(e => e.offsetParent !== null && e.innerText.includes('def '))
        .map(e => getComputedStyle(e.querySelector('code') || e).whiteSpace)""")
    assert wrapping and all(w in ("pre", "nowrap") for w in wrapping), wrapping


@pytest.mark.browser
def test_the_map_title_is_clear_of_its_legend(page):
    open_page(page, "ch2_embedding_map")
    page.locator(".js-plotly-plot .legend").first.wait_for()
    title = page.locator(".js-plotly-plot .gtitle").first.bounding_box()
    legend = page.locator(".js-plotly-plot .legend").first.bounding_box()
    plot = page.locator(".js-plotly-plot .bglayer").first.bounding_box()
    overlaps = not (title["x"] + title["width"] <= legend["x"] or legend["x"] + legend["width"] <= title["x"]
                    or title["y"] + title["height"] <= legend["y"] or legend["y"] + legend["height"] <= title["y"])
    assert not overlaps, (title, legend)
    assert legend["x"] >= plot["x"] + plot["width"] - 1  # beside the plot, not on it
