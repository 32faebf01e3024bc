"""Presenter mode in a real browser at a projector's 1280x720: every page's point on the first
screen, the arrow keys walk the whole story, 1920x1080 is the same screen larger, a quiet console."""

from pathlib import Path

import pytest
from browser import assert_no_exception, open_page, screenshot

from ui import registry, stage

LOG = Path(__file__).resolve().parent / "streamlit-server.log"
# A page's point when ui/stage.POINTS names none: the first chart, key number, table, main
# button or chapter link on the page (the header's own buttons aside).
POINT_CANDIDATES = ('[data-testid="stPlotlyChart"], [data-testid="stMetric"], [data-testid="stTable"], '
                    '[data-testid="stDataFrame"], button[kind="primary"], [data-testid="stPageLink"]')


def settle(tab, rounds: int = 240):
    """Wait until the script run and every spinner, skeleton and stale element are gone."""
    calm = 0
    for _ in range(rounds):
        busy = tab.evaluate("""() => document.querySelectorAll('[data-stale="true"], [data-testid="stSpinner"], '
            + '[data-testid="stStatusWidget"], [data-testid="stSkeleton"]').length""")
        calm = calm + 1 if busy == 0 else 0
        if calm >= 3:
            return
        tab.wait_for_timeout(500)


def point_box(tab, name: str):
    """The bounding box of the page's point, or None when it has none on the page: for a page in
    ui/stage.POINTS the top-level row holding the key it names, else the first candidate."""
    key = stage.POINTS.get(name)
    return tab.evaluate("""([key, candidates]) => {
        const main = document.querySelector('[data-testid="stMain"]');
        const top = main.querySelector('[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"]');
        let found = key ? main.querySelector('.st-key-' + key)
            : [...main.querySelectorAll(candidates)].find(e => !e.closest('.st-key-stage_header'));
        while (key && found && found.parentElement !== top) found = found.parentElement;
        if (!found) return null;
        const r = found.getBoundingClientRect();
        return {top: r.top, bottom: r.bottom, height: r.height, what: found.getAttribute('data-testid') || key};
    }""", [key, POINT_CANDIDATES])


@pytest.mark.browser
@pytest.mark.parametrize("entry", registry.PAGES, ids=lambda entry: entry.name)
def test_every_pages_point_is_on_the_first_screen_in_presenter_mode(page, entry):
    open_page(page, f"{registry.url_path(entry)}?{stage.PARAM}=1")
    settle(page)
    assert_no_exception(page)
    assert page.locator('[data-testid="stSidebar"]').is_hidden()
    box = point_box(page, entry.name)
    screenshot(page, f"present-{entry.name}")
    assert box is not None, f"{entry.name}: no chart, number, table or main button found"
    assert box["height"] > 0 and box["top"] >= 0 and box["bottom"] <= 720, (entry.name, box)
    for label in ("Prev", "Next"):
        button = page.locator(".st-key-stage_header button", has_text=label)
        assert button.bounding_box()["y"] < 100


@pytest.mark.browser
def test_chapter_3s_live_charts_appear_under_start_on_the_first_screen(page):
    """On stage the speaker presses Start (here Replay, the same live charts) and the audience
    watches the curves grow without anybody scrolling."""
    open_page(page, f"ch3_finetune?{stage.PARAM}=1")
    settle(page)
    page.get_by_role("button", name="Replay", exact=True).click()
    chart = page.locator('.js-plotly-plot:has-text("Each step: loss and batch accuracy")').first
    chart.wait_for(timeout=30_000)
    box = chart.bounding_box()
    assert 0 <= box["y"] < 720 - 150, box  # its top part, with the first points, on screen
    assert_no_exception(page)


@pytest.mark.browser
def test_the_arrow_keys_walk_from_home_to_the_closing_page_and_back(page):
    open_page(page, f"?{stage.PARAM}=1")
    total = len(registry.PATH)
    for entry in registry.PATH[1:]:
        page.keyboard.press("ArrowRight")
        page.get_by_text(registry.place(entry), exact=True).wait_for(timeout=90_000)
        assert page.url.split("?")[0].endswith("/" + entry.name)
        assert f"{stage.PARAM}=1" in page.url                 # presenter mode kept on every page
    assert "Build something" in page.locator("h1").first.inner_text()
    page.keyboard.press("ArrowLeft")
    page.get_by_text(f"page {total - 1} of {total}", exact=True).wait_for(timeout=90_000)
    assert_no_exception(page)


@pytest.mark.browser
def test_a_1920x1080_projector_shows_the_same_first_screen_larger(browser, app_url):
    tab = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    tab.set_default_timeout(60_000)
    tab.app_url = app_url
    open_page(tab, f"ch4_noise?{stage.PARAM}=1")
    settle(tab)
    box = point_box(tab, "ch4_noise")
    title = tab.locator("h1").first.bounding_box()
    tab.context.close()
    assert box["bottom"] <= 1080
    assert title["height"] > 60                            # 1.5x the 1280x720 title (about 50 px)


@pytest.mark.browser
def test_the_audience_link_shows_a_qr_code_of_the_page(page):
    open_page(page, f"ch1_multiplication?{stage.PARAM}=1")
    page.get_by_role("button", name="Audience link").click()
    code = page.locator('[data-testid="stPopoverBody"] [data-testid="stCode"]')
    code.wait_for()
    assert code.inner_text().strip().endswith("/ch1_multiplication")
    qr = page.locator('[data-testid="stPopoverBody"] [data-testid="stImage"] img')
    qr.wait_for()
    assert qr.count() == 1 and qr.bounding_box()["width"] >= 200


@pytest.mark.browser
def test_the_servers_console_has_no_load_reports_or_progress_bars(page):
    """After BERT pages have loaded the model (the per-page test above, and this one)."""
    open_page(page, "ch2_bert_output")
    settle(page)
    console = LOG.read_text()
    assert "Loading weights" not in console and "LOAD REPORT" not in console, console[-2000:]
