"""Chapter 3 in a real browser: a short fine-tune of the bundled BERT runs to the
end while the charts update, the confusion matrix appears, and a broken CSV
upload gets a readable message instead of a traceback."""

import time

import pytest
from browser import assert_no_exception, open_page, screenshot, wait_idle

PAGE = "ch3_finetune"


def open_chapter(tab):
    open_page(tab, PAGE)
    tab.get_by_role("button", name="Start fine-tuning").wait_for(timeout=60_000)
    wait_idle(tab)


def choose_in_select_slider(tab, label: str, option: str):
    """Streamlit's select_slider is a slider: focus it and walk with the arrow keys."""
    slider = tab.get_by_role("slider", name=label)
    slider.focus()
    for _ in range(12):
        if slider.get_attribute("aria-valuetext") == option:
            return
        slider.press("ArrowLeft")
        tab.wait_for_timeout(150)
    assert slider.get_attribute("aria-valuetext") == option


def quick_demo(tab):
    """2 sentences per label, 1 epoch: a fine-tune of the bundled BERT in seconds."""
    choose_in_select_slider(tab, "Quick demo: training sentences per label", "2")
    wait_idle(tab)
    epochs = tab.get_by_role("slider", name="Epochs")
    epochs.focus()
    for _ in range(25):
        if epochs.get_attribute("aria-valuenow") == "1":
            break
        epochs.press("ArrowLeft")
        tab.wait_for_timeout(100)
    wait_idle(tab)
    training = tab.locator('[data-testid="stMetric"]').filter(has_text="Training sentences")
    assert training.inner_text().split()[-1] == "16"  # 8 labels x 2


@pytest.mark.browser
def test_short_finetune_runs_to_completion_with_live_charts(page):
    open_chapter(page)
    assert_no_exception(page)
    assert page.locator("h1", has_text="Fine-tune BERT, live").is_visible()
    quick_demo(page)

    page.get_by_role("button", name="Start fine-tuning").click()
    # The progress bar appears while it runs; then the results replace it.
    page.get_by_text("Confusion matrix (evaluation sentences)").wait_for(timeout=180_000)
    wait_idle(page)
    assert_no_exception(page)
    body = page.locator("body").inner_text()
    assert "Evaluation accuracy" in body
    assert page.get_by_text("Training vs evaluation accuracy").count() >= 1
    assert page.get_by_text("Each step: loss and batch accuracy").count() >= 1
    assert page.locator(".js-plotly-plot").count() >= 4  # counts, epochs, steps, confusion (+ try it)
    assert page.get_by_role("button", name="Download the fine-tuned model (.zip)").is_visible()
    page.get_by_text("Confusion matrix (evaluation sentences)").first.scroll_into_view_if_needed()
    screenshot(page, "ch3-finetuned")


@pytest.mark.browser
def test_broken_csv_upload_shows_a_message(page):
    open_chapter(page)
    page.get_by_text("My own CSV files").click()
    wait_idle(page)
    uploader = page.locator('[data-testid="stFileUploader"]').first.locator('input[type="file"]')
    uploader.set_input_files(files=[{"name": "broken.csv", "mimeType": "text/csv",
                                     "buffer": "label,text\nprice,caf\xe9 too dear\n".encode("latin-1")}])
    wait_idle(page)
    assert_no_exception(page)
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="UTF-8")
    alert.first.wait_for(timeout=20_000)
    assert page.get_by_role("button", name="Start fine-tuning").is_disabled()
    alert.first.scroll_into_view_if_needed()
    screenshot(page, "ch3-broken-csv")


@pytest.mark.browser
def test_a_fine_tune_that_ends_while_on_chapter_2_appears_there(page):
    """Start, go to the embedding map at once: the next rerun there, once training
    has ended, draws the fine-tuned map beside the pretrained one."""
    open_chapter(page)
    quick_demo(page)
    page.get_by_role("button", name="Start fine-tuning").click()
    wait_idle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Embedding map").click()  # same session
    page.locator("h1", has_text="Embedding map").wait_for(timeout=60_000)
    wait_idle(page)
    deadline = time.time() + 180
    while "% fine-tuned" not in page.locator("body").inner_text():   # "90% pretrained → 95% fine-tuned"
        assert time.time() < deadline, "the fine-tuned map never appeared on chapter 2"
        page.wait_for_timeout(2000)
        page.locator("body").press("r")                          # Streamlit's rerun key: same page, same session
        wait_idle(page)
    assert_no_exception(page)
    assert "pretrained →" in page.locator("body").inner_text()
