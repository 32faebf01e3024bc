"""A short contrastive warm-up before the classifier trains: the idea of SetFit,
in the form the bundled all-MiniLM-L6-v2 was itself trained with (in-batch
negatives, "MultipleNegativesRankingLoss").

Each step takes up to 16 labels, one sentence of each (the anchor) and another
sentence of the same label (its positive). The model should find, for every
anchor, its own positive among the 16 - the other labels' sentences are the
negatives. That pulls sentences of one label together and pushes labels apart,
before the new dense layer is started at the class centres. One pass = every
training sentence anchors once. What it measured: benchmarks/FINETUNE.md.
"""

from __future__ import annotations

import random
from collections import defaultdict

SCALE = 20.0   # cosine x 20 as logits: sentence-transformers' default for this loss


def pair_batches(targets: list[int], labels_per_batch: int, rng: random.Random) -> list[list[tuple[int, int]]]:
    """One pass of (anchor, positive) row pairs, never two pairs of one label in a batch.
    Labels with a single sentence pair it with itself (dropout still makes two views)."""
    rows_of: dict[int, list[int]] = defaultdict(list)
    for row, label in enumerate(targets):
        rows_of[label].append(row)
    queues = {label: rng.sample(rows, len(rows)) for label, rows in rows_of.items()}
    batches = []
    while any(queues.values()):
        labels = [label for label, queue in queues.items() if queue]
        rng.shuffle(labels)
        for start in range(0, len(labels), labels_per_batch):
            pairs = []
            for label in labels[start: start + labels_per_batch]:
                anchor = queues[label].pop()
                others = [r for r in rows_of[label] if r != anchor] or [anchor]
                pairs.append((anchor, rng.choice(others)))
            if len(pairs) > 1:
                batches.append(pairs)
    rng.shuffle(batches)
    return batches


def contrastive_warmup(model, train_set, passes: int, learning_rate: float, rng: random.Random, device: str,
                       frozen=(), labels_per_batch: int = 16, should_stop=lambda: False) -> int:
    """`passes` passes of the in-batch contrastive loss over the training sentences;
    returns the number of steps taken. Only the numbers that will learn later learn here."""
    import torch
    import torch.nn.functional as F

    from core.finetune.frozen import sentence_vectors_of, train_mode

    learning = [p for p in model.base_model.parameters() if p.requires_grad]
    if not learning or passes < 1:
        return 0
    optimizer = torch.optim.AdamW(learning, lr=learning_rate, weight_decay=0.0)
    train_mode(model, frozen)
    steps = 0
    for _ in range(passes):
        for pairs in pair_batches(list(train_set.targets), labels_per_batch, rng):
            if should_stop():
                return steps
            rows = [a for a, _ in pairs] + [p for _, p in pairs]
            vectors = F.normalize(sentence_vectors_of(model, train_set.batch(rows, device)), dim=-1)
            anchors, positives = vectors[: len(pairs)], vectors[len(pairs):]
            loss = F.cross_entropy(SCALE * anchors @ positives.T, torch.arange(len(pairs), device=vectors.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(learning, 1.0)
            optimizer.step()
            steps += 1
    return steps
