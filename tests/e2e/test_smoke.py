"""Every page of the app opens in a real browser with no exception box."""

import pytest
from browser import assert_no_exception, open_page, screenshot

PAGES = ["", "ch1_multiplication", "ch1_confidence", "ch1_learning", "ch1_framework",
         "ch2_onehot", "ch2_tokenizer", "ch2_bert_output", "ch2_embedding_map",
         "ch3_finetune", "ch4_lessons"]


@pytest.mark.browser
@pytest.mark.parametrize("url_path", PAGES)
def test_page_opens_without_exception(page, url_path):
    open_page(page, url_path)
    assert_no_exception(page)
    assert page.locator("h1").count() >= 1
    screenshot(page, f"smoke-{url_path or 'home'}")
