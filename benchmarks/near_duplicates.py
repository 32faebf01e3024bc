"""How long the near-duplicate check (core/datasets.near_duplicate_pairs) takes on
the inputs of issue 15: realistic sentences up to the check's row limit, and
hostile files at the 10 MB upload limit (few very long near-identical rows, or
as many near-identical rows as the limit allows). Issue 15's bar: at most 5 s on
the 2-core machine. Run: `python3 benchmarks/near_duplicates.py`."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import datasets  # noqa: E402

BUDGET_SECONDS = 5.0


def realistic(n: int, rng: random.Random) -> list[str]:
    """Shipped sentences with a few random words appended: many near duplicates."""
    base = list(datasets.load_shipped("train").texts)
    words = " ".join(base).split()
    return [rng.choice(base) + " " + " ".join(rng.choice(words) for _ in range(rng.randint(0, 6)))
            for _ in range(n)]


def hostile(rows: int, rng: random.Random, shuffled: bool = False) -> list[str]:
    """`rows` long rows filling the upload limit together: near-identical (a word or
    two changed near the start), or - `shuffled` - the same few words in a different
    order in every row (trigrams overlap, so difflib has to run, but rows differ)."""
    words = " ".join(datasets.load_shipped("train").texts).split()
    width = datasets.MAX_BYTES // rows
    few = words[:12]
    out = []
    base = [rng.choice(words) for _ in range(width // 5)]
    for _ in range(rows):
        if shuffled:
            row = [rng.choice(few) for _ in range(width // 5)]
        else:
            row = list(base)
            for _ in range(2):
                row[rng.randrange(30)] = rng.choice(words)
        out.append(" ".join(row)[:width - 2])
    return out


def timed(texts: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    pairs = datasets.near_duplicate_pairs(texts)
    return time.perf_counter() - started, len(pairs)


def main() -> int:
    rng = random.Random(0)
    cases = {
        f"realistic, {datasets.NEAR_DUPLICATE_ROW_LIMIT:,} rows": realistic(datasets.NEAR_DUPLICATE_ROW_LIMIT, rng),
        "hostile, 700 near-identical rows of ~14 KB (10 MB)": hostile(700, rng),
        f"hostile, {datasets.NEAR_DUPLICATE_ROW_LIMIT:,} near-identical rows of ~3.3 KB (10 MB)":
            hostile(datasets.NEAR_DUPLICATE_ROW_LIMIT, rng),
        f"hostile, {datasets.NEAR_DUPLICATE_ROW_LIMIT:,} rows of the same 12 words shuffled (10 MB)":
            hostile(datasets.NEAR_DUPLICATE_ROW_LIMIT, rng, shuffled=True),
    }
    worst = 0.0
    for name, texts in cases.items():
        seconds, found = timed(texts)
        worst = max(worst, seconds)
        print(f"{name}: {seconds:.2f} s, {found} pairs reported")
    print(f"worst {worst:.2f} s (budget {BUDGET_SECONDS:.0f} s)")
    return 0 if worst <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
