"""The audience's link: the page on screen, with its knobs, as an address and a QR code."""

import segno

from core import links


def test_the_hosted_address_gets_the_page_and_its_knobs():
    url = links.page_url("https://fb2b.example.app", "ch1_learning", {"ch1l_hidden": ["3"], "ch1l_lr": "0.5"})
    assert url == "https://fb2b.example.app/ch1_learning?ch1l_hidden=3&ch1l_lr=0.5"
    assert links.page_url("https://fb2b.example.app/talk/", "", {}) == "https://fb2b.example.app/talk/"


def test_the_speakers_own_address_is_a_page_whose_name_is_replaced():
    assert links.page_url("http://192.168.1.20:8501/ch2_tokenizer", "ch3_finetune", {}, base_is_a_page=True) \
        == "http://192.168.1.20:8501/ch3_finetune"
    assert links.page_url("http://192.168.1.20:8501/", "ch3_finetune", {}, base_is_a_page=True) \
        == "http://192.168.1.20:8501/ch3_finetune"


def test_knob_values_are_escaped_and_lists_repeat_the_key():
    url = links.page_url("https://a.app", "ch2_embedding_map", {"mine": "a b&c=d", "sizes": ["2", "5"]})
    assert url == "https://a.app/ch2_embedding_map?mine=a+b%26c%3Dd&sizes=2&sizes=5"


def test_no_address_or_a_strange_one_gives_none():
    assert links.page_url("", "x") is None
    assert links.page_url("javascript:alert(1)", "x") is None
    assert links.page_url("file:///etc/passwd", "x") is None


def test_an_overlong_query_is_dropped_so_the_code_stays_scannable():
    url = links.page_url("https://a.app", "ch1_learning", {"k": "x" * 3000})
    assert url == "https://a.app/ch1_learning"


def test_the_qr_code_is_a_png_of_exactly_that_address():
    url = "https://fb2b.example.app/ch1_learning?ch1l_hidden=3"
    png = links.qr_png(url)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    # The symbol for this address (its version follows from the length), a 4-module margin, 6 px a module.
    assert (width, height) == segno.make(url, error="m", micro=False).symbol_size(scale=6, border=4)
    long_png = links.qr_png(url + "&more=" + "x" * 200)
    assert int.from_bytes(long_png[16:20], "big") > width              # more to say, a bigger symbol
