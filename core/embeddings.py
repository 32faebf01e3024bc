"""Words to vectors: tokens, ids, one-hot vectors, embeddings and similarity.

The talk's second act in code. A tokenizer turns "The price is outrageous" into
ids ([101, 1996, 3976, 2003, 25506, 102]: id N is line N+1 of the model's
vocab.txt); BERT turns each id into a vector of 384 (here) or 768 (the talk's
BERT-base) numbers that depends on the whole sentence; cosine similarity says
how alike two such vectors point.

Functions take a tokenizer and an encoder from core.models so the same code
serves the bundled BERT, hub models and the tiny BERT of the tests. torch is
imported inside the functions that need it: the light pages never pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

# Sentences in this app are short; 128 tokens leaves room and keeps batches small.
SENTENCE_MAX_TOKENS = 128


# ---------------------------------------------------------------- tokens and ids

@dataclass
class Tokenized:
    """One text after the tokenizer: what BERT actually receives."""

    text: str
    tokens: list[str]              # ['[CLS]', 'the', 'price', 'is', 'outrageous', '[SEP]']
    ids: list[int]                 # [101, 1996, 3976, 2003, 25506, 102]
    attention_mask: list[int]      # 1 = a real token, 0 = padding BERT must ignore
    word_index: list[int | None]   # which word of the text each token came from (None: special/padding)
    max_length: int                # the model's limit (512 for BERT)
    full_length: int               # tokens the whole text needs, before truncation
    notes: list[str] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.full_length > len([m for m in self.attention_mask if m])

    @property
    def real_tokens(self) -> int:
        return sum(self.attention_mask)


def model_max_tokens(tokenizer, encoder=None) -> int:
    """The longest input the model takes: 512 tokens for BERT.

    Tokenizers sometimes report a huge sentinel (1e30) when the limit is unknown,
    so the encoder's position table is the tie-breaker."""
    limits = [512]
    reported = getattr(tokenizer, "model_max_length", None)
    if isinstance(reported, int) and 0 < reported < 100_000:
        limits = [reported]
    positions = getattr(getattr(encoder, "config", None), "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        limits.append(positions)
    return min(limits)


def tokenize(tokenizer, text: str, pad_to: int | None = None, max_length: int | None = None) -> Tokenized:
    """Text -> tokens, ids and attention mask, the way BERT receives them.

    >>> tokenize(tok, "The price is outrageous").ids
    [101, 1996, 3976, 2003, 25506, 102]

    pad_to adds [PAD] tokens (id 0, attention 0) up to that length, the way a
    batch of sentences is made rectangular. Texts longer than the model's limit
    are cut at max_length tokens ([SEP] is kept last) with a note.
    Raises ValueError for an empty text: there is nothing to encode."""
    if not text or not text.strip():
        raise ValueError("The text is empty: type a sentence to tokenize.")
    limit = max_length or model_max_tokens(tokenizer)
    full_length = len(tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])
    encoding = tokenizer(text, truncation=True, max_length=limit)
    ids = list(encoding["input_ids"])
    mask = list(encoding["attention_mask"])
    try:
        word_index = list(encoding.word_ids())
    except Exception:  # noqa: BLE001 - slow tokenizers can't say; only the word grouping needs it
        word_index = [None] * len(ids)
    notes = []
    if full_length > limit:
        notes.append(
            f"The text needs {full_length:,} tokens but the model reads at most {limit}: "
            f"the first {limit - 2} word pieces were kept, the other {full_length - limit:,} dropped."
        )
    if pad_to:
        target = min(pad_to, limit)
        if target < len(ids):
            notes.append(
                f"Padding to {pad_to} does nothing: the text already has {len(ids)} tokens "
                "(padding only ever adds, it never cuts)."
            )
        missing = max(0, target - len(ids))
        # [PAD] (id 0 in BERT) with attention 0: the model is told to ignore these positions.
        ids += [tokenizer.pad_token_id] * missing
        mask += [0] * missing
        word_index += [None] * missing
    result = Tokenized(
        text=text, tokens=tokenizer.convert_ids_to_tokens(ids), ids=ids, attention_mask=mask,
        word_index=word_index, max_length=limit, full_length=full_length, notes=notes,
    )
    unknown = unknown_characters(tokenizer, text)
    if unknown:
        result.notes.append(
            f"{len(unknown)} piece(s) of the text are not in the vocabulary at all and became "
            f"[UNK] (id {tokenizer.unk_token_id}): {' '.join(unknown[:12])}. The model sees the same "
            "'unknown' vector for every one of them, so their meaning is lost."
        )
    return result


def unknown_characters(tokenizer, text: str) -> list[str]:
    """The words of the text that the tokenizer could only turn into [UNK].

    BERT's uncased vocabulary holds English word pieces, accents stripped, and a
    few thousand single characters; most emoji and many CJK characters are not
    among them. "I love 🧀" -> ['🧀']."""
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is None:
        return []
    encoding = tokenizer(text, add_special_tokens=False, truncation=False, return_offsets_mapping=True,
                         verbose=False)
    return [text[start:end] for token_id, (start, end) in zip(encoding["input_ids"], encoding["offset_mapping"])
            if token_id == unk]


def word_pieces(tokenized: Tokenized) -> list[tuple[str, list[str]]]:
    """Group the tokens back into the words they came from.

    "unbelievably cheap" -> [('unbelievably', ['un', '##bel', '##ie', '##va', '##bly']), ('cheap', ['cheap'])]
    "##" marks a piece that continues the word before it."""
    groups: dict[int, list[str]] = {}
    for token, word in zip(tokenized.tokens, tokenized.word_index):
        if word is not None:
            groups.setdefault(word, []).append(token)
    words = []
    for pieces in groups.values():
        words.append(("".join(p[2:] if p.startswith("##") else p for p in pieces), pieces))
    return words


def vocab_file(tokenizer) -> Path | None:
    """The vocab.txt this tokenizer reads its ids from (BERT-style models), if any."""
    path = getattr(tokenizer, "vocab_file", None)
    if path and Path(path).is_file() and Path(path).name == "vocab.txt":
        return Path(path)
    folder = getattr(tokenizer, "name_or_path", "")
    if folder and (Path(folder) / "vocab.txt").is_file():
        return Path(folder) / "vocab.txt"
    return None


@lru_cache(maxsize=8)
def _vocab_lines(path: str) -> tuple[str, ...]:
    return tuple(Path(path).read_text(encoding="utf-8").splitlines())


def vocab_line_number(token_id: int) -> int:
    """The talk's discovery: id N sits on line N+1 of vocab.txt (lines count from 1).
    'outrageous' is id 25506, line 25507."""
    return token_id + 1


def vocab_lines(path: Path | str, first_line: int, last_line: int) -> list[tuple[int, str]]:
    """Lines first_line..last_line (1-based, inclusive) of a vocab.txt, numbered like an editor."""
    lines = _vocab_lines(str(path))
    first_line, last_line = max(1, first_line), min(len(lines), last_line)
    return [(n, lines[n - 1]) for n in range(first_line, last_line + 1)]


def vocab_size(tokenizer) -> int:
    return len(tokenizer)


# ---------------------------------------------------------------- one-hot and similarity

def one_hot(index: int, size: int) -> np.ndarray:
    """A vector of `size` zeros with a single 1 at `index`.

    one_hot(2, 5) = [0, 0, 1, 0, 0]; for BERT's vocabulary size is 30,522, so
    'cat' (id 4937) is 30,521 zeros and one 1."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a vector of {size} entries")
    vector = np.zeros(size, dtype=np.float32)
    vector[index] = 1.0
    return vector


def dot(a, b) -> float:
    """The weighted sum from chapter 1: dot([1, 2], [3, 4]) = 1*3 + 2*4 = 11."""
    return float(np.dot(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)))


def cosine_similarity(a, b) -> float:
    """How alike two vectors point, from -1 (opposite) through 0 (unrelated) to 1 (same direction).

    cosine_similarity([1, 0], [1, 1]) = 1 / (1 * 1.414) = 0.707 (45 degrees apart).
    Length doesn't matter, only direction. Raises ValueError for a zero vector,
    which points nowhere."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        raise ValueError("A zero vector has no direction, so its cosine similarity is undefined.")
    return float(np.dot(a, b) / norms)


def euclidean_distance(a, b) -> float:
    """Straight-line distance: euclidean_distance([0, 0], [3, 4]) = 5."""
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))


def cosine_matrix(vectors) -> np.ndarray:
    """Every row's cosine similarity with every other row (1.0 on the diagonal).
    Zero rows give 0 rather than dividing by zero."""
    matrix = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return unit @ unit.T


def static_word_vectors(tokenizer, encoder, words: list[str]) -> dict[str, np.ndarray]:
    """The model's own input embedding (row `id` of its embedding table) for words
    that are a single token: what BERT starts from before it reads any context.
    Words that split into several pieces or become [UNK] are left out."""
    table = encoder.get_input_embeddings().weight
    found = {}
    for word in words:
        ids = tokenizer(word, add_special_tokens=False)["input_ids"]
        if len(ids) == 1 and ids[0] != tokenizer.unk_token_id:
            found[word] = table[ids[0]].detach().float().numpy().copy()
    return found


# The talk's toy maps: four words placed by hand, first on a line, then as 2-D vectors.
TOY_LINE = {"car": 1.0, "carpet": 4.5, "cat": 9.0, "dog": 9.8}
TOY_PLANE = {"car": (2.0, 0.4), "carpet": (1.0, -1.2), "cat": (0.4, 1.8), "dog": (0.7, 1.6)}


def vector_from_direction(angle_degrees: float, length: float) -> tuple[float, float]:
    """A 2-D vector from its direction and length: (90 degrees, 2) -> (0, 2)."""
    radians = np.deg2rad(angle_degrees)
    return float(length * np.cos(radians)), float(length * np.sin(radians))


def direction_of(vector) -> tuple[float, float]:
    """(angle in degrees, length) of a 2-D vector: (0, 2) -> (90, 2)."""
    x, y = float(vector[0]), float(vector[1])
    return float(np.degrees(np.arctan2(y, x)) % 360), float(np.hypot(x, y))


def angle_between(a, b) -> float:
    """Degrees between two vectors; cosine similarity is the cosine of this angle.
    angle_between([1, 0], [1, 1]) = 45."""
    return float(np.degrees(np.arccos(np.clip(cosine_similarity(a, b), -1.0, 1.0))))


# ---------------------------------------------------------------- what BERT gives back

@dataclass
class HiddenStates:
    """BERT's output for one text: a vector per token, shaped (1, tokens, hidden)."""

    tokenized: Tokenized
    vectors: np.ndarray            # (tokens, hidden), e.g. (6, 384)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (1, *self.vectors.shape)

    @property
    def tokens(self) -> list[str]:
        return self.tokenized.tokens


def _threads():
    import torch

    torch.set_num_threads(2)  # measured best on the 2-core machines; more threads are slower
    return torch


def hidden_states(tokenizer, encoder, text: str) -> HiddenStates:
    """The last hidden layer for one text: shape (1, 6, 384) for "The price is outrageous"
    with the bundled model (the talk's BERT-base gives (1, 6, 768)). Texts longer
    than the model's limit are truncated (see Tokenized.notes)."""
    torch = _threads()
    tokenized = tokenize(tokenizer, text, max_length=model_max_tokens(tokenizer, encoder))
    ids = torch.tensor([tokenized.ids])
    mask = torch.tensor([tokenized.attention_mask])
    with torch.inference_mode():
        output = encoder(input_ids=ids, attention_mask=mask)
    return HiddenStates(tokenized, output.last_hidden_state[0].float().numpy().copy())


def cls_pooling(vectors: np.ndarray) -> np.ndarray:
    """The [CLS] summary: the first token's vector. A classifier head reads this one."""
    return np.asarray(vectors)[0]


def mean_pooling(vectors: np.ndarray, attention_mask=None) -> np.ndarray:
    """The average of the real tokens' vectors (padding left out).
    mean_pooling([[1, 2], [3, 4], [9, 9]], [1, 1, 0]) = [2, 3]."""
    vectors = np.asarray(vectors, dtype=np.float64)
    mask = np.ones(len(vectors)) if attention_mask is None else np.asarray(attention_mask, dtype=np.float64)
    if mask.sum() == 0:
        raise ValueError("No real tokens to average.")
    return (vectors * mask[:, None]).sum(axis=0) / mask.sum()


def token_similarity(states: HiddenStates) -> np.ndarray:
    """Token-to-token cosine similarity, (tokens, tokens)."""
    return cosine_matrix(states.vectors)


def word_positions(tokenized: Tokenized, word: str) -> list[list[int]]:
    """Token positions of each occurrence of `word` (a word may be several pieces)."""
    wanted = word.strip().lower()
    found = []
    for text_word, positions in _words_with_positions(tokenized):
        if text_word.lower() == wanted:
            found.append(positions)
    return found


def _words_with_positions(tokenized: Tokenized):
    groups: dict[int, list[int]] = {}
    for position, word in enumerate(tokenized.word_index):
        if word is not None:
            groups.setdefault(word, []).append(position)
    for positions in groups.values():
        pieces = [tokenized.tokens[p] for p in positions]
        yield "".join(p[2:] if p.startswith("##") else p for p in pieces), positions


def word_in_context(tokenizer, encoder, sentence: str, word: str) -> np.ndarray:
    """The vector BERT gives `word` inside `sentence` (pieces averaged; first occurrence).
    "bank" by a river and "bank" with an account get different vectors."""
    states = hidden_states(tokenizer, encoder, sentence)
    occurrences = word_positions(states.tokenized, word)
    if not occurrences:
        raise ValueError(f"'{word}' does not appear as a word in: {sentence}")
    return states.vectors[occurrences[0]].mean(axis=0)


POOLINGS = ("mean", "cls")


def sentence_embeddings(tokenizer, encoder, texts: list[str], pooling: str = "mean",
                        batch_size: int = 64, max_tokens: int = SENTENCE_MAX_TOKENS) -> np.ndarray:
    """One vector per text, (len(texts), hidden), in the order given.

    Texts are sorted by length and padded per batch, so a batch of short
    sentences isn't padded to the longest in the whole list (fast on a CPU).
    pooling 'mean' averages the real tokens (what the bundled all-MiniLM model was
    trained for); 'cls' takes the [CLS] vector (what a classifier head reads).
    Pure function of its inputs, so callers can cache it per (model, texts)."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
    if not texts:
        return np.zeros((0, encoder.config.hidden_size), dtype=np.float32)
    torch = _threads()
    limit = min(max_tokens, model_max_tokens(tokenizer, encoder))
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), encoder.config.hidden_size), dtype=np.float32)
    # A fine-tuned model may come straight from training: on a GPU, in train mode
    # (dropout on). Read it on its own device, in eval mode, and leave it as found.
    device = next(encoder.parameters()).device
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                batch = tokenizer([texts[i] or " " for i in chunk], padding=True, truncation=True,
                                  max_length=limit, return_tensors="pt")
                ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
                hidden = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
                if pooling == "cls":
                    pooled = hidden[:, 0]
                else:
                    weights = mask.unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
                out[chunk] = pooled.float().cpu().numpy()
    finally:
        encoder.train(was_training)
    return out


# ---------------------------------------------------------------- neighbours

METRICS = ("cosine", "euclidean")


@dataclass(frozen=True)
class Neighbour:
    index: int
    score: float       # cosine similarity (higher = closer) or euclidean distance (lower = closer)


def nearest_neighbours(query, corpus, k: int = 5, metric: str = "cosine") -> list[Neighbour]:
    """The k rows of `corpus` closest to the vector `query`, closest first.

    cosine: ranked by cosine similarity, highest first (direction only).
    euclidean: ranked by straight-line distance, smallest first (length counts too)."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
    corpus = np.asarray(corpus, dtype=np.float64)
    query = np.asarray(query, dtype=np.float64)
    if len(corpus) == 0:
        return []
    if metric == "cosine":
        norms = np.linalg.norm(corpus, axis=1) * (np.linalg.norm(query) or 1.0)
        scores = corpus @ query / np.where(norms == 0, 1.0, norms)
        order = np.argsort(-scores, kind="stable")
    else:
        scores = np.linalg.norm(corpus - query, axis=1)
        order = np.argsort(scores, kind="stable")
    return [Neighbour(int(i), float(scores[i])) for i in order[:k]]


def neighbour_agreement(vectors, labels, k: int = 5, metric: str = "cosine") -> float:
    """How well the labels cluster: the share of each sentence's k nearest
    neighbours (itself excluded) that carry the same label, averaged.
    Two tight, separate clusters score 1.0; labels scattered at random score
    about 1/number-of-labels. Fine-tuning should push this up."""
    data = np.asarray(vectors, dtype=np.float64)
    labels = np.asarray(labels)
    if len(data) < 2:
        return 0.0
    k = min(k, len(data) - 1)
    if metric == "cosine":
        similarity = cosine_matrix(data)
        np.fill_diagonal(similarity, -np.inf)
        nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    elif metric == "euclidean":
        distance = np.linalg.norm(data[:, None, :] - data[None, :, :], axis=-1)
        np.fill_diagonal(distance, np.inf)
        nearest = np.argsort(distance, axis=1, kind="stable")[:, :k]
    else:
        raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
    return float((labels[nearest] == labels[:, None]).mean())
