"""Chapter 2 in a real browser at 1280x720: type into each page, see it update, no exception box."""

import pytest
from browser import assert_no_exception, open_page, screenshot, wait_idle

pytestmark = pytest.mark.browser


def shows(tab, text: str, exact: bool = False, timeout: float = 120_000) -> bool:
    """Wait (a cold server loads BERT first) until the text is on the page."""
    tab.get_by_text(text, exact=exact).first.wait_for(timeout=timeout)
    return True


def settle(tab):
    """The sidebar switches to the app's own chapters once the router has run."""
    tab.get_by_text("2 · Words to vectors").first.wait_for()


def type_into(tab, label: str, text: str, area: bool = False):
    box = tab.get_by_label(label)
    box.fill(text)
    box.press("Control+Enter" if area else "Enter")
    wait_idle(tab)


def test_tokenizer_page_updates_ids_for_a_new_sentence(page):
    from core import models

    open_page(page, "ch2_tokenizer")
    assert shows(page, "1 · Tokens and ids")
    assert_no_exception(page)
    assert shows(page, "[101, 1996, 3976, 2003, 25506, 102]")
    sentence = "The delivery was unbelievably late"
    expected = models.load_tokenizer()(sentence)["input_ids"]
    type_into(page, "Text to tokenize", sentence)
    assert shows(page, str(expected))
    assert str(expected) in page.locator('[data-testid="stCode"]').first.inner_text()
    assert page.get_by_text("Rare words become ## pieces").count() == 1
    assert_no_exception(page)
    settle(page)
    screenshot(page, "ch2-tokenizer")


def test_onehot_page_updates_for_new_words(page):
    open_page(page, "ch2_onehot")
    assert shows(page, "30,522 numbers")
    assert_no_exception(page)
    type_into(page, "Words to encode (separate with spaces)", "cat dog bank")
    # The one-hot chart's legend names each word and where its single 1 sits.
    legend = page.locator("text.legendtext", has_text="bank (1 at 2,924)")
    legend.wait_for(state="attached", timeout=60_000)
    assert legend.count() == 1
    assert_no_exception(page)
    settle(page)
    screenshot(page, "ch2-onehot")


def test_bert_output_page_shows_the_new_shape(page):
    open_page(page, "ch2_bert_output")
    assert shows(page, "(1, 6, 384)", exact=True)
    type_into(page, "Text for BERT to read", "The bank charged a huge fee")
    assert shows(page, "(1, 8, 384)", exact=True)
    assert page.get_by_text("(1, 6, 384)", exact=True).count() == 0
    assert_no_exception(page)
    settle(page)
    screenshot(page, "ch2-bert-output")


def test_embedding_map_places_a_typed_sentence(page):
    open_page(page, "ch2_embedding_map")
    assert shows(page, "Neighbours vote")
    assert_no_exception(page)
    type_into(page, "Your sentences (one per line; they appear as ★ on the map)",
              "My card was declined twice", area=True)
    assert shows(page, "“My card was declined twice”")
    assert shows(page, "Neighbours vote credit")
    # The map is drawn into a slot above the sentences and can arrive after the neighbour tables.
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=60_000)
    assert_no_exception(page)
    settle(page)
    screenshot(page, "ch2-embedding-map")
