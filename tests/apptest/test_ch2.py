"""Chapter 2 pages in AppTest: what a visitor sees, with the bundled BERT offline (HF_HUB_OFFLINE=1)."""

import json
import re
from pathlib import Path

import apptest_pages
from streamlit.testing.v1 import AppTest

from core import models
from core.trained import TrainedModel

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TALK_IDS = "[101, 1996, 3976, 2003, 25506, 102]"


def open_page(name: str) -> AppTest:
    return apptest_pages.open_page(name, timeout=240)


def texts(elements) -> str:
    """What the reader sees: Markdown's backslash escapes (of a visitor's text) removed."""
    return re.sub(r"\\(.)", r"\1", "\n".join(str(e.value) for e in elements))


def charts(at) -> dict:
    return {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def values(data):
    """Plotly sends numpy arrays as base64 ({'dtype', 'bdata', 'shape'}); lists stay lists."""
    if isinstance(data, dict) and "bdata" in data:
        import base64

        import numpy as np

        array = np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"]))
        shape = [int(n) for n in str(data.get("shape", len(array))).split(",")]
        return array.reshape(shape).tolist()
    return data


def chart(at, key: str) -> dict:
    found = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if key in c.proto.id]
    assert found, f"no chart with key {key}"
    return found[0]


def uncached_hub_model() -> str:
    missing = [c.id for c in models.CHOICES if not models.is_cached(c.id)]
    assert missing, "every hub model is cached here: the offline-fallback test has nothing to try"
    return missing[0]


# ---------------------------------------------------------------- tokenizer

def test_tokenizer_shows_the_talks_ids_and_their_vocab_lines():
    at = open_page("ch2_tokenizer")
    assert TALK_IDS in at.code[0].value
    table = at.dataframe[0].value
    assert table["token"].tolist() == ["[CLS]", "the", "price", "is", "outrageous", "[SEP]"]
    assert (table["line in vocab.txt"] == table["id"] + 1).all()
    assert (table["that line reads"] == table["token"]).all()
    # The vocab.txt excerpt highlights 'outrageous' on line 25,507.
    assert "25507 ▶ outrageous" in at.code[1].value
    assert "25,506" in texts(at.success) and "25,507" in texts(at.success)


def test_tokenizer_padding_empty_text_long_text_emoji_and_rare_words():
    at = open_page("ch2_tokenizer")
    at.slider(key="ch2_pad").set_value(10).run()
    assert "[101, 1996, 3976, 2003, 25506, 102, 0, 0, 0, 0]" in at.code[0].value
    assert "attention_mask = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]" in at.code[0].value
    at.slider(key="ch2_pad").set_value(0).run()

    at.text_input(key="ch2_tok_text").set_value("   ").run()
    assert "empty" in texts(at.error)
    assert TALK_IDS in at.code[0].value  # the last good text stays on screen

    at.text_input(key="ch2_tok_text").set_value("outrageous price " * 600).run()  # 10,200 characters
    assert not at.exception
    assert "at most 512" in texts(at.warning)
    assert len(at.dataframe[0].value) == 64 and "first 64 of 512" in texts(at.caption)
    assert at.code[0].value.count("… 448 more]") == 2  # ids and mask, not a wall of 512 numbers

    at.text_input(key="ch2_tok_text").set_value("Too expensive 💸 — 太贵了").run()
    assert "[UNK]" in texts(at.warning)
    assert "Money With Wings" in texts(at.caption)

    at.button(key="ch2_tok_ex_Rare words").click().run()
    pieces = at.dataframe[1].value
    assert any("##" in p for p in pieces["pieces"]) and (pieces["pieces count"] > 1).all()


def test_tokenizer_hub_model_offline_gives_a_message_and_keeps_the_bundled_bert():
    at = open_page("ch2_tokenizer")
    at.selectbox(key="ch2_model").set_value(uncached_hub_model()).run()
    assert not at.exception
    assert "offline" in texts(at.error) or "could not" in texts(at.error)
    assert TALK_IDS in at.code[0].value


def test_a_typed_model_id_that_does_not_exist_gives_a_message_and_keeps_the_bundled_bert():
    at = open_page("ch2_tokenizer")
    at.selectbox(key="ch2_model").set_value("another model…").run()
    at.text_input(key="ch2_model_typed").set_value("no-such-org/no-such-bert").run()
    assert not at.exception
    assert "no-such-org/no-such-bert" in texts(at.error)
    assert TALK_IDS in at.code[0].value


# ---------------------------------------------------------------- one-hot

def test_onehot_shows_the_vocabulary_size_and_zero_overlaps():
    at = open_page("ch2_onehot")
    shown = texts(at.markdown)
    assert "30,522 numbers" in shown
    assert "cat·dog = **0** and cat·car = **0**" in shown
    learned = re.search(r"cat·dog = \*\*([\d.]+)\*\* is higher than cat·car = \*\*([\d.]+)\*\*", shown)
    assert learned and float(learned.group(1)) > float(learned.group(2))
    dots = values(chart(at, "ch2_oh_dots")["data"][0]["z"])
    assert [row.count(0) for row in dots] == [4] * 5


def test_onehot_toy_vectors_move_and_grow():
    at = open_page("ch2_onehot")
    assert "**dog** is closest to **cat**: cosine similarity 0.98" in texts(at.success)
    at.slider(key="ch2_plane_angle").set_value(200).run()
    assert "**dog** is closest to **carpet**: cosine similarity -0.34" in texts(at.success)
    at.button(key="ch2_plane_reset").click().run()
    at.text_input(key="ch2_plane_new").set_value("rug").run()
    at.button(key="ch2_plane_add").click().run()
    assert "rug" in at.selectbox(key="ch2_plane_word").options
    assert "**rug** is closest to" in texts(at.success)
    matrix = chart(at, "ch2_plane_matrix")["data"][0]
    assert len(values(matrix["z"])) == 5
    at.slider(key="ch2_line_pos").set_value(9.5).run()
    assert "**carpet–cat** 0.5" in texts(at.markdown)


def test_onehot_empty_and_unknown_words_get_messages():
    at = open_page("ch2_onehot")
    at.text_input(key="ch2_oh_words").set_value("").run()
    assert "No words given" in texts(at.error)
    at.text_input(key="ch2_oh_words").set_value("carpeting 🐈 cat dog").run()
    assert not at.exception
    assert "carpet ##ing" in texts(at.info) and "[UNK]" in texts(at.info)


# ---------------------------------------------------------------- BERT output

def test_bert_output_shape_heatmap_and_token_similarity():
    at = open_page("ch2_bert_output")
    shown = texts(at.markdown)
    assert "(1, 6, 384)" in shown and "(1, 6, 768)" in shown
    heat = chart(at, "ch2_bo_heatmap")["data"][0]
    assert len(values(heat["z"])) == 6 and len(values(heat["z"])[0]) == 384
    tokens = chart(at, "ch2_bo_tokens")["data"][0]
    assert len(values(tokens["z"])) == 6 and round(values(tokens["z"])[2][2], 3) == 1.0
    at.text_input(key="ch2_bo_text").set_value("The bank charged a huge fee").run()
    assert "(1, 8, 384)" in texts(at.markdown)


def test_bert_output_bank_differs_by_context_and_pooling_is_compared():
    at = open_page("ch2_bert_output")
    bank = values(chart(at, "ch2_bo_bank")["data"][0]["z"])
    river_pair, money_pair, across = bank[0][1], bank[2][3], bank[0][2]
    assert river_pair < 0.99 and river_pair > across and money_pair > across
    assert "same id (2924)" in texts(at.markdown)
    pooling = at.dataframe[0].value
    assert len(pooling) == 3 and set(pooling.columns) == {"compared with", "[CLS] pooling", "mean pooling"}
    assert "mean pooling" in texts(at.markdown)


def test_bert_output_bad_input_keeps_the_page_working():
    at = open_page("ch2_bert_output")
    at.text_input(key="ch2_bo_text").set_value("").run()
    assert "empty" in texts(at.error) and "(1, 6, 384)" in texts(at.markdown)
    at.text_input(key="ch2_bo_text").set_value("too expensive " * 800).run()
    assert not at.exception
    assert "at most 512" in texts(at.warning) and "(1, 512, 384)" in texts(at.markdown)
    at.text_input(key="ch2_bank_word").set_value("river").run()
    assert "isn't a whole word" in texts(at.warning)


# ---------------------------------------------------------------- embedding map

def map_points(spec) -> dict:
    return {trace["name"]: len(values(trace["x"])) for trace in spec["data"]}


def test_map_shows_the_shipped_dataset_by_label_with_pca_variance():
    from core import datasets

    train = datasets.load_shipped("train")
    at = open_page("ch2_embedding_map")
    assert not at.warning, texts(at.warning)
    points = map_points(chart(at, "ch2_map_chart"))
    assert points.pop("your sentences") == 2
    assert sum(points.values()) == len(train.texts) and len(points) == len(set(train.labels)) == 8
    assert re.search(r"PCA kept \d+% of the spread", texts(at.markdown))
    agreement = re.search(r"sharing the sentence's reason: \*\*(\d+)%\*\* \(by chance: about 12%\)", texts(at.markdown))
    assert agreement and 12 < int(agreement.group(1)) <= 100
    # The visitor's sentences: their nearest neighbours in 384-D carry the right reason.
    assert "“I found the same thing for half the price elsewhere”  \nNeighbours vote **found elsewhere**" \
        in texts(at.markdown)
    assert "“Your website kept crashing at checkout”  \nNeighbours vote **error**" in texts(at.markdown)
    neighbours = at.dataframe[0].value
    assert len(neighbours) == 5 and neighbours["cosine"].is_monotonic_decreasing
    # No fine-tuned model in this session yet: a link to chapter 3 instead of the second map.
    assert "ch3_finetune" in [link.proto.page for link in at.get("page_link")]
    assert len([c for c in at.get("plotly_chart") if "ch2_map" in c.proto.id]) == 1
    # The 8 reasons in a column right of the map, below its title, never over it.
    layout = chart(at, "ch2_map_chart")["layout"]
    assert layout["legend"]["orientation"] == "v" and layout["legend"]["x"] > 1
    assert layout["title"]["yref"] == "container"
    # The sentence box comes before the map, so a visitor sees a sentence land while typing it.
    order = [node.type for node in walk(at.main)]
    assert order.index("text_area") < order.index("plotly_chart")


def walk(node):
    """Every element under a node, in page order."""
    for child in getattr(node, "children", {}).values():
        yield child
        yield from walk(child)


def test_map_euclidean_tsne_and_empty_sentences():
    at = open_page("ch2_embedding_map")
    at.selectbox(key="ch2_map_split").set_value("eval").run()  # 160 sentences: a quicker t-SNE
    at.radio(key="ch2_map_metric").set_value("euclidean").run()
    neighbours = at.dataframe[0].value
    assert neighbours["distance"].is_monotonic_increasing
    at.radio(key="ch2_map_method").set_value("t-SNE").run()
    assert not at.exception
    assert "t-SNE" in texts(at.markdown) and map_points(chart(at, "ch2_map_chart"))["your sentences"] == 2
    at.text_area(key="ch2_map_mine").set_value("").run()
    assert "Add a sentence" in texts(at.info) and not at.dataframe


def test_map_puts_a_finetuned_model_beside_the_pretrained_one(tiny_bert_dir):
    from core import datasets

    labels = sorted(set(datasets.load_shipped("train").labels))
    finetuned = TrainedModel.loaded(models.load_classifier(tiny_bert_dir, labels),
                                    models.load_tokenizer(tiny_bert_dir), labels, name="tiny test")
    at = AppTest.from_file(APP, default_timeout=240)
    at.session_state["finetuned"] = finetuned
    at.run()
    at.switch_page("pages/ch2_embedding_map.py").run()
    assert not at.exception, [e.value for e in at.exception]
    left, right = chart(at, "ch2_map_chart"), chart(at, "ch2_map_ft_chart")
    assert map_points(left) == map_points(right)
    assert "After: fine-tuned (tiny test)" in right["layout"]["title"]["text"]
    assert "Before: pretrained" in left["layout"]["title"]["text"]
    # Each map the page's full width, one above the other, not squeezed into half-width columns.
    assert not at.columns or all("ch2_map" not in str(column.proto) for column in at.columns)
    assert re.search(r"\*\*\d+% pretrained → \d+% fine-tuned\*\*", texts(at.markdown))


# ---------------------------------------------------------------- the model picker on a hosted copy

def test_a_hosted_copy_offers_only_its_allow_list_and_no_box_to_type_a_model(monkeypatch, tiny_bert_dir):
    monkeypatch.setenv("FB2B_HOSTED", "1")
    monkeypatch.setenv("FB2B_ALLOWED_MODELS", models.BUNDLED)
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("pages/ch2_tokenizer.py").run()
    assert not at.exception
    assert list(at.selectbox(key="ch2_model").options) == ["Bundled BERT"]
    assert not [w for w in at.text_input if w.key == "ch2_model_typed"]
    assert str(tiny_bert_dir) not in texts(at.markdown) + texts(at.caption)  # no server folder named
    assert TALK_IDS in at.code[0].value


def test_a_hosted_copy_ignores_a_shared_link_that_names_another_model(monkeypatch):
    monkeypatch.setenv("FB2B_HOSTED", "1")
    monkeypatch.setenv("FB2B_ALLOWED_MODELS", models.BUNDLED)
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["ch2_model"] = "another model…"
    at.run()
    at.switch_page("pages/ch2_tokenizer.py").run()
    assert not at.exception
    assert at.selectbox(key="ch2_model").value == models.BUNDLED
    assert TALK_IDS in at.code[0].value


def test_a_model_id_over_255_characters_is_a_sentence():
    at = open_page("ch2_tokenizer")
    at.selectbox(key="ch2_model").set_value("another model…").run()
    at.text_input(key="ch2_model_typed").set_value("a" * 300).run()
    assert not at.exception
    assert "characters long; a model id has at most 255" in texts(at.error)
    assert TALK_IDS in at.code[0].value


def test_two_spellings_of_one_folder_load_one_copy(tiny_bert_dir, monkeypatch):
    tiny_bert_dir = Path(tiny_bert_dir)
    monkeypatch.chdir(tiny_bert_dir.parent)
    at = open_page("ch2_tokenizer")
    at.selectbox(key="ch2_model").set_value("another model…").run()
    loaded = []
    for spelling in (f"./{tiny_bert_dir.name}", f"{tiny_bert_dir}/"):
        at.text_input(key="ch2_model_typed").set_value(spelling).run()
        assert not at.exception and not at.error
        loaded.append(models.shared_tokenizer(spelling))
    assert loaded[0] is loaded[1]
    assert list(models._caches["tokenizer"]).count(str(tiny_bert_dir.resolve())) == 1


def test_when_the_pool_for_heavy_work_is_busy_the_map_says_so_and_shows_pca(monkeypatch):
    import threading

    from core import jobs

    release = threading.Event()
    holder = jobs.submit(lambda on_step, on_epoch, should_stop: release.wait(60), kind=jobs.COMPUTE)
    monkeypatch.setattr(jobs, "BOUNDED_WAIT_SECONDS", 0.5)
    try:
        at = open_page("ch2_embedding_map")
        at.selectbox(key="ch2_map_split").set_value("eval").run()
        at.text_area(key="ch2_map_mine").set_value("A sentence only this test maps").run()
        at.radio(key="ch2_map_method").set_value("t-SNE").run()
        assert not at.exception
        assert "busy with other visitors' work" in texts(at.error) and "PCA map meanwhile" in texts(at.error)
        assert "PCA kept" in texts(at.markdown)  # a map all the same
        assert map_points(chart(at, "ch2_map_chart"))["your sentences"] == 1
    finally:
        release.set()
        holder.join(10)


def test_the_model_picker_names_fit_its_box():
    # At 1280x720 the picker is about 200 px wide: "Bundled BERT (all-MiniLM-L6-v2)" was cut to
    # "Bundled BERT (all-MiniL". Short names in the box, the full one in the caption under it.
    at = open_page("ch2_embedding_map")
    picker = at.selectbox(key="ch2_model")
    assert picker.options[0] == "Bundled BERT"
    assert all(len(option) <= 22 for option in picker.options), picker.options
    assert "all-MiniLM-L6-v2" in texts(at.caption)
