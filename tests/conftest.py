"""Shared test fixtures. Tests never touch the network: the hub is switched off
here, models are either the bundled BERT or a tiny random one built on the spot."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as app.py: no spinning threads on a shared CPU

ROOT = Path(__file__).resolve().parent.parent

TINY_WORDS = (
    "the a an is was it i we you they my our your to of and or not no too way "
    "price cost expensive cheap money card credit payment declined bank "
    "found elsewhere better deal another store competitor "
    "need needed longer changed mind anymore "
    "slow late delivery lead time weeks wait shipping "
    "error bug broken crash failed website checkout "
    "nobody answered reply support unresponsive call email "
    "unknown reason other just cancel order outrageous bought"
).split()


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> str:
    """A tiny random BERT (hidden 32, 2 layers) saved like a real one, with a small
    WordPiece vocabulary, so it loads through the same code path as real models."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab_list = specials + sorted(set(TINY_WORDS)) + letters + ["##" + c for c in letters]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(vocab_list))}
    # transformers 5 ignores vocab_file=: pass the mapping itself.
    BertTokenizerFast(vocab=vocab, do_lower_case=True).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_classifier_dir(tiny_bert_dir, tmp_path_factory) -> str:
    """The tiny BERT as a 3-label sequence classifier, saved exactly as
    `python -m core.finetune --output DIR` saves one (random head: untrained)."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification
    from transformers.utils import logging as hf_logging

    from core.model_io import save_model_folder

    hf_logging.set_verbosity_error()
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=3)
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    folder = tmp_path_factory.mktemp("tiny-classifier")
    save_model_folder(model, folder, tokenizer, ["credit", "lead time", "price"])
    return str(folder)
