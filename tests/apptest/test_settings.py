"""A page's knobs live in its URL: a link with knobs set opens with them, a change shows
up in the address bar, a value that makes no sense is ignored, and leaving the page and
coming back keeps what was set (ui/settings.py)."""

from apptest_pages import APP
from streamlit.testing.v1 import AppTest


def open_with(url: dict, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(url)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_shared_link_opens_with_its_knobs_and_a_change_shows_in_the_url():
    at = open_with({"ch1m_weight": "0.55", "ch1m_n": "15"}, "pages/ch1_multiplication.py")
    assert at.slider(key="ch1m_weight").value == 0.55
    assert at.number_input(key="ch1m_n").value == 15
    assert "15 → [15 mod 3, 15 mod 5]" in " ".join(m.value for m in at.markdown)
    at.slider(key="ch1m_weight").set_value(0.8).run()
    assert at.query_params["ch1m_weight"] == "0.8"
    at.slider(key="ch1m_weight").set_value(0.2).run()   # back to the default: out of the URL
    assert "ch1m_weight" not in at.query_params


def test_nonsense_in_the_url_is_ignored_and_the_page_still_renders():
    at = open_with({"ch1m_weight": "banana", "ch1m_n": "1e999", "ch1l_encoding": "hex",
                    "ch1l_gd_steps": "5000"}, "pages/ch1_multiplication.py")
    assert at.slider(key="ch1m_weight").value == 0.2
    assert at.number_input(key="ch1m_n").value == 3
    at.switch_page("pages/ch1_learning.py").run()
    assert not at.exception
    assert at.radio(key="ch1l_encoding").value == "mod"
    assert at.slider(key="ch1l_gd_steps").value == 10


def test_choices_of_mixed_types_and_lists_come_back_from_the_url():
    at = open_with({"ch3_per_label": "10", "ch3_lr": "0.0001", "ch3_freeze": "encoder"}, "pages/ch3_finetune.py")
    assert at.select_slider(key="ch3_per_label").value == 10
    assert at.select_slider(key="ch3_lr").value == 1e-4
    assert at.selectbox(key="ch3_freeze").value == "encoder"
    at = open_with({"ch4_label_noise_noise_levels": ["0", "30"]}, "pages/ch4_noise.py")
    assert at.multiselect(key="ch4_label_noise_noise_levels").value == [0, 30]


def test_knobs_survive_a_trip_to_another_page():
    at = open_with({}, "pages/ch1_learning.py")
    at.radio(key="ch1l_gd_lr").set_value("0.1 (zig-zag)").run()
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/ch1_learning.py").run()
    assert at.radio(key="ch1l_gd_lr").value == "0.1 (zig-zag)"
    assert at.query_params["ch1l_gd_lr"] == "0.1 (zig-zag)"
