"""How long reading and inspecting a CSV takes (the data page runs this on every upload),
and how much memory the near-duplicate check adds. Prints its figures; no assertions.

    python benchmarks/datasets_inspect.py
"""

import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import datasets  # noqa: E402


def synthetic_csv(rows: int, seed: int = 0) -> bytes:
    """`rows` sentences built from the shipped ones with random extra words, so
    most are distinct and a few are near duplicates, like a real export."""
    rng = random.Random(seed)
    shipped = datasets.load_shipped("train")
    words = " ".join(shipped.texts).split()
    lines = ["label,text"]
    for _ in range(rows):
        i = rng.randrange(len(shipped))
        text = shipped.texts[i] + " " + " ".join(rng.choice(words) for _ in range(rng.randint(0, 6)))
        lines.append(f'{shipped.labels[i]},"{text.replace(chr(34), "")}"')
    return ("\n".join(lines) + "\n").encode()


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    print(f"{'rows':>6} {'read_csv s':>11} {'inspect_csv s':>14} {'near pairs':>11} {'peak RSS MiB':>13}")
    sources = [("shipped train", (datasets.SHIPPED_DIR / "train.csv").read_bytes())]
    sources += [(str(n), synthetic_csv(n)) for n in (1000, 2000, datasets.NEAR_DUPLICATE_ROW_LIMIT, 20000)]
    for name, raw in sources:
        started = time.perf_counter()
        data = datasets.read_csv(raw)
        read_s = time.perf_counter() - started
        started = time.perf_counter()
        report = datasets.inspect_csv(raw)
        inspect_s = time.perf_counter() - started
        near = len(report.near_duplicates) if report.near_duplicates_checked else "skipped"
        print(f"{len(data):>6} {read_s:>11.3f} {inspect_s:>14.3f} {near!s:>11} {peak_mib():>13.0f}   ({name})")


if __name__ == "__main__":
    main()
