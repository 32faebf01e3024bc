"""The model registry: the bundled BERT loads offline; anything else that can't be
loaded becomes one readable sentence, never a traceback."""

import pytest

from core import models


def test_bundled_bert_loads_offline_with_the_talks_vocabulary():
    tokenizer = models.load_tokenizer(models.BUNDLED)
    assert tokenizer("The price is outrageous")["input_ids"] == [101, 1996, 3976, 2003, 25506, 102]
    assert tokenizer.vocab_size == 30522


def test_bundled_encoder_is_a_six_layer_bert_with_384_numbers_per_token():
    encoder = models.load_encoder(models.BUNDLED)
    assert encoder.config.model_type == "bert"
    assert (encoder.config.num_hidden_layers, encoder.config.hidden_size) == (6, 384)
    assert not encoder.training


@pytest.mark.parametrize("model_id", ["bert-base-uncased", "no-such-org/no-such-model"])
def test_hub_model_offline_is_a_clear_message(model_id):
    with pytest.raises(models.ModelUnavailable) as error:
        models.load_tokenizer(model_id)
    message = str(error.value)
    assert model_id in message and "bundled BERT stays in use" in message


def test_empty_model_name_is_refused():
    with pytest.raises(models.ModelUnavailable, match="No model name"):
        models.load_encoder("  ")


def test_a_local_folder_loads_through_the_same_path(tiny_bert_dir):
    classifier = models.load_classifier(tiny_bert_dir, ["price", "credit", "error"])
    assert classifier.config.id2label == {0: "price", 1: "credit", 2: "error"}
    assert models.is_cached(tiny_bert_dir)


def test_a_broken_folder_says_so(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(models.ModelUnavailable, match="could not be loaded"):
        models.load_encoder(str(tmp_path))


def test_only_the_bundled_model_counts_as_available_offline():
    assert models.is_cached(models.BUNDLED)
    assert not models.is_cached("no-such-org/no-such-model")


# --------------------------------------------------------------- issue 15: a hosted copy


@pytest.fixture
def hosted(monkeypatch):
    monkeypatch.setenv(models.HOSTED_ENV, "1")
    monkeypatch.delenv(models.ALLOWED_ENV, raising=False)


def test_a_hosted_copy_refuses_hub_ids_off_its_allow_list(hosted):
    with pytest.raises(models.ModelUnavailable, match="only loads") as refused:
        models.load_tokenizer("bert-large-uncased")
    assert models.BUNDLED in str(refused.value)


def test_a_hosted_copy_loads_no_server_folder_and_does_not_reveal_which_exist(hosted, tiny_bert_dir, tmp_path):
    messages = []
    for folder in (tiny_bert_dir, str(tmp_path / "no-such-folder")):
        with pytest.raises(models.ModelUnavailable) as refused:
            models.load_encoder(folder)
        messages.append(str(refused.value).replace(folder, "X").replace(models._shown(folder), "X"))
        assert not models.is_cached(folder)
    assert messages[0] == messages[1]


def test_the_allow_list_is_configurable(monkeypatch, tiny_bert_dir):
    monkeypatch.setenv(models.ALLOWED_ENV, f"{models.BUNDLED}, some-org/small-bert")
    assert models.allowed_models() == (models.BUNDLED, "some-org/small-bert")
    assert models.check_model_id("some-org/small-bert", hosted=True) == "some-org/small-bert"
    with pytest.raises(models.ModelUnavailable, match="only loads"):
        models.check_model_id("google/bert_uncased_L-2_H-128_A-2", hosted=True)
    assert models.check_model_id(tiny_bert_dir, hosted=False) == tiny_bert_dir  # locally, folders still load


def test_the_bundled_model_still_loads_on_a_hosted_copy(hosted):
    assert models.load_tokenizer(models.BUNDLED).vocab_size == 30522


def test_local_folders_load_only_under_the_models_root(monkeypatch, tiny_bert_dir, tmp_path):
    monkeypatch.setenv(models.MODELS_ROOT_ENV, str(tmp_path))
    with pytest.raises(models.ModelUnavailable, match="only from"):
        models.load_config(tiny_bert_dir)
    inside = tmp_path / "mine"
    inside.symlink_to(tiny_bert_dir)  # a link pointing outside the root is outside it
    with pytest.raises(models.ModelUnavailable, match="only from"):
        models.load_config(str(inside))
    monkeypatch.setenv(models.MODELS_ROOT_ENV, str(tiny_bert_dir).rsplit("/", 1)[0])
    assert models.load_config(tiny_bert_dir).hidden_size == 32


@pytest.mark.parametrize("model_id, message", [
    ("a" * 256, "at most 255"),
    ("org/" + "b" * 300, "at most 255"),
    ("bert\x00base", "characters"),
    ("bert-base; rm -rf /", "characters"),
    ("$(whoami)", "characters"),
    ("bert\nbase", "characters"),
])
def test_odd_or_overlong_model_ids_are_a_sentence(model_id, message):
    with pytest.raises(models.ModelUnavailable, match=message) as refused:
        models.load_tokenizer(model_id)
    text = str(refused.value)
    assert "\n" not in text and "\x00" not in text and len(text) < 300


def test_every_spelling_of_a_folder_is_one_cache_entry(tiny_bert_dir, monkeypatch):
    import os

    loads = []
    monkeypatch.setattr(models, "load_tokenizer", lambda model_id: loads.append(model_id) or object())
    monkeypatch.setitem(models._caches, "tokenizer", type(models._caches["tokenizer"])())
    parent, name = os.path.split(tiny_bert_dir)
    monkeypatch.chdir(parent)
    spellings = [tiny_bert_dir, tiny_bert_dir + "/", f"./{name}", name, f"{name}/../{name}"]
    first = models.shared_tokenizer(spellings[0])
    assert all(models.shared_tokenizer(s) is first for s in spellings)
    assert loads == [tiny_bert_dir]


def test_the_shared_model_cache_keeps_only_the_most_recent_few(monkeypatch, tmp_path):
    monkeypatch.setattr(models, "load_encoder", lambda model_id: object())
    monkeypatch.setitem(models._caches, "encoder", type(models._caches["encoder"])())
    folders = []
    for i in range(models.MAX_CACHED_MODELS + 3):
        (tmp_path / f"m{i}").mkdir()
        folders.append(str(tmp_path / f"m{i}"))
        models.shared_encoder(folders[-1])
    assert list(models._caches["encoder"]) == folders[-models.MAX_CACHED_MODELS:]


class NoDownloadLoader:
    """A from_pretrained that is not cached locally and records any download attempt."""

    downloads = []

    @classmethod
    def from_pretrained(cls, source, local_files_only=False, **kwargs):
        if local_files_only:
            raise OSError("not cached")
        cls.downloads.append(source)
        return object()


def test_a_hub_model_over_the_budget_is_refused_before_download(monkeypatch):
    import huggingface_hub

    class Metadata:
        parameter_count = {"F32": 7_000_000_000}

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_safetensors_metadata", lambda repo_id, **kw: Metadata())
    NoDownloadLoader.downloads = []
    with pytest.raises(models.ModelUnavailable, match="7,000M parameters"):
        models._from_pretrained(NoDownloadLoader, "some-org/huge-model")
    assert NoDownloadLoader.downloads == []


def test_a_hub_model_whose_size_the_hub_does_not_tell_is_not_downloaded(monkeypatch):
    import huggingface_hub

    def unknown(repo_id, **kwargs):
        raise huggingface_hub.errors.NotASafetensorsRepoError("no safetensors")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_safetensors_metadata", unknown)
    NoDownloadLoader.downloads = []
    with pytest.raises(models.ModelUnavailable, match="doesn't tell the size"):
        models._from_pretrained(NoDownloadLoader, "some-org/old-model")
    assert NoDownloadLoader.downloads == []


def test_a_hub_model_within_the_budget_downloads(monkeypatch):
    import huggingface_hub

    class Metadata:
        parameter_count = {"F32": 4_400_000}

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_safetensors_metadata", lambda repo_id, **kw: Metadata())
    NoDownloadLoader.downloads = []
    models._from_pretrained(NoDownloadLoader, "google/bert_uncased_L-2_H-128_A-2")
    assert NoDownloadLoader.downloads == ["google/bert_uncased_L-2_H-128_A-2"]
