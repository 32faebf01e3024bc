"""Presenter mode through AppTest: every page has Prev / Next and its place in the story,
Next leads on (presenter mode kept), one click resets a page's knobs, and the audience link."""

import pytest
from apptest_pages import APP
from streamlit.testing.v1 import AppTest

from ui import registry, settings, stage


def presenting(name: str | None = None, timeout: float = 120) -> AppTest:
    """The app opened with ?present=1 (the home page), then `name` as a page move."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params[stage.PARAM] = "1"
    at.run()
    if name is not None:
        at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def header_buttons(at) -> dict:
    return {b.key: b for b in at.button if b.key in ("stage_prev", "stage_next", "stage_reset", "stage_leave")}


@pytest.mark.parametrize("entry", registry.PAGES, ids=lambda entry: entry.name)
def test_every_page_in_presenter_mode_has_prev_next_and_next_leads_on(entry):
    at = presenting(None if entry is registry.HOME else entry.name)
    buttons = header_buttons(at)
    assert (buttons["stage_prev"].label, buttons["stage_next"].label) == ("Prev", "Next")
    assert buttons["stage_prev"].disabled == (registry.before(entry) is None)
    assert buttons["stage_next"].disabled == (registry.after(entry) is None)
    assert buttons["stage_reset"].label == "Reset to the talk's defaults"
    assert registry.place(entry) in [m.value for m in at.markdown]
    assert not [link for link in at.get("page_link") if link.proto.label.startswith(("Prev:", "Next:"))]  # no footer
    following = registry.after(entry)
    if following is not None:
        at.button(key="stage_next").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert registry.place(following) in [m.value for m in at.markdown]
        assert at.query_params[stage.PARAM] in ("1", ["1"])


def test_the_speakers_pre_flight_is_in_the_sidebar_but_never_on_the_talks_path():
    at = presenting()
    at.button(key="stage_next").click().run()                       # home -> chapter 1, not pre-flight
    assert at.title[0].value.startswith("A neural network is multiplication")
    assert "page 2 of" in " ".join(m.value for m in at.markdown)
    at = presenting("preflight")                                    # reached from the sidebar
    assert at.title[0].value == "Pre-flight"
    assert "before the talk" in [m.value for m in at.markdown]
    at.button(key="stage_next").click().run()
    assert at.title[0].value.startswith("A neural network is multiplication")
    assert registry.PAGES[1].name == "preflight" and registry.PAGES[1] not in registry.PATH


def test_prev_goes_back():
    at = presenting("ch1_confidence")
    at.button(key="stage_prev").click().run()
    assert "page 2 of" in " ".join(m.value for m in at.markdown)
    assert at.title[0].value.startswith("A neural network is multiplication")


# A page, one of its knobs and a value other than the talk's.
KNOBS = [
    ("ch1_multiplication", "slider", "ch1m_weight", 0.9),
    ("ch1_learning", "number_input", "ch1l_hidden", 7),
    ("ch2_tokenizer", "slider", "ch2_pad", 16),
    ("ch4_noise", "slider", "ch4_label_noise_epochs", 9),
]


@pytest.mark.parametrize("name, kind, key, value", KNOBS, ids=[k[0] for k in KNOBS])
@pytest.mark.parametrize("mode", ["presenter", "normal"])
def test_one_click_puts_the_pages_knobs_back_to_the_talks_defaults(name, kind, key, value, mode):
    at = presenting(name) if mode == "presenter" else AppTest.from_file(APP, default_timeout=120).run()
    if mode == "normal":
        at.switch_page(f"pages/{name}.py").run()
        assert [b for b in at.sidebar.button if b.key == "stage_reset"]     # in the sidebar outside presenter mode
    widget = getattr(at, kind)(key=key)
    default = widget.value
    widget.set_value(value).run()
    assert getattr(at, kind)(key=key).value == value and key in at.query_params
    at.button(key="stage_reset").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert getattr(at, kind)(key=key).value == default
    assert key not in at.query_params                                      # the URL says "defaults" too


def test_reset_leaves_the_knobs_of_other_pages_alone():
    at = presenting("ch1_multiplication")
    at.slider(key="ch1m_weight").set_value(0.9).run()
    at.switch_page("pages/ch2_tokenizer.py").run()
    at.slider(key="ch2_pad").set_value(16).run()
    at.button(key="stage_reset").click().run()
    assert at.slider(key="ch2_pad").value == 0
    at.switch_page("pages/ch1_multiplication.py").run()
    assert at.slider(key="ch1m_weight").value == 0.9


def test_the_sidebar_toggle_turns_presenter_mode_on_and_leave_turns_it_off():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert stage.PARAM not in at.query_params and "stage_next" not in header_buttons(at)
    at.sidebar.toggle(key=stage.STATE).set_value(True).run()
    assert at.query_params[stage.PARAM] in ("1", ["1"]) and "stage_next" in header_buttons(at)
    at.button(key="stage_leave").click().run()
    assert stage.PARAM not in at.query_params and "stage_next" not in header_buttons(at)
    assert any(link.proto.label.startswith("Next:") for link in at.get("page_link"))  # the footer is back


def test_the_audience_link_is_the_page_with_its_knobs_on_the_hosted_address(monkeypatch):
    monkeypatch.setenv(stage.PUBLIC_URL_ENV, "https://fb2b.example.app")
    at = presenting("ch1_multiplication")
    at.slider(key="ch1m_weight").set_value(0.9).run()
    codes = [c.value for c in at.code]
    assert "https://fb2b.example.app/ch1_multiplication?ch1m_weight=0.9" in codes      # not presenter mode
    assert at.get("image"), "no QR code drawn"


def test_settings_note_only_the_knobs_of_the_page_on_screen():
    at = presenting("ch2_tokenizer")
    noted = at.session_state[settings.RUN_DEFAULTS]
    assert "ch2_pad" in noted and "ch1m_weight" not in noted


def test_the_preflight_page_shows_each_check_in_its_colour(monkeypatch):
    from core import preflight

    def quick(on_step, on_epoch, should_stop):
        checks = [preflight.Check("Free memory", "6.0 GiB", "green"),
                  preflight.Check("Chapter 3 fine-tune", "45 s predicted", "red", "budget 20 s")]
        for check in checks:
            on_step(check)
        return preflight.Report(checks, None)

    monkeypatch.setattr(preflight, "run_checks", quick)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/preflight.py").run()
    at.button(key="preflight_run").click().run()
    at.session_state["preflight_job"].join(30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(m.value for m in at.markdown)
    assert ":green-badge[on time] **Free memory**: 6.0 GiB" in text
    assert ":red-badge[too slow] **Chapter 3 fine-tune**: 45 s predicted" in text


def test_warming_the_caches_says_what_it_loaded():
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("pages/preflight.py").run()
    at.button(key="preflight_warm").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (done,) = [s.value for s in at.success]
    assert done.startswith("Warm: tokenizer") and "embeddings of challenge.csv" in done


def test_the_closing_page_ends_the_story_with_the_talks_advice_and_credits():
    at = presenting("closing")
    assert registry.PAGES[-1].name == "closing"
    text = " ".join(m.value for m in at.markdown)
    assert "So build something, fine-tune something, learn something." in text     # transcript 001, verbatim
    for credit in ("Fine-tuning language models with Axon", "ElixirConf 2023", "toranb/elixirconf2023",
                   "Software Engineering Radio", "Grokking Deep Learning", "CC BY 4.0", "PolyAI",
                   "written by hand for this app", "synthetic"):
        assert credit in text, credit
    (data_sets,) = [e for e in at.expander if "licence" in e.label]                # folded in presenter mode
    assert "BANKING77" in " ".join(m.value for m in data_sets.markdown)
    assert header_buttons(at)["stage_next"].disabled


def test_lesson_pages_keep_their_long_settings_lines_behind_a_help_icon_when_presenting():
    at = presenting("ch4_noise")
    captions = {c.value: c.proto.help for c in at.caption}
    short = [text for text in captions if text.startswith("A live run takes about")]
    assert short and captions[short[0]].startswith("Live settings: 15 sentences per label")
    recorded = [text for text in captions if text.startswith("**Recorded**")]
    assert recorded and "settings:" not in recorded[0] and captions[recorded[0]].startswith("settings: ")
    assert not [text for text in captions if text.startswith("Live settings")]
    at = AppTest.from_file(APP, default_timeout=120).run()                # outside presenter mode: in full
    at.switch_page("pages/ch4_noise.py").run()
    assert [c.value for c in at.caption if c.value.startswith("Live settings: 15 sentences per label")]
