"""Chapter 6: retrain and monitor. A simulated inbox, week by week, in which the
data drifts; a model that flags cancellation requests; the weekly false
negatives (a cancellation it missed: the order ships anyway) and false
positives (an ordinary message treated as a cancellation); Retrain makes the
next version from everything labelled so far; any version can be rolled back to.

The interview: "over time you end up logging your model's outputs, you save some
snapshot of the data ... did my model catch this? Did it not catch this? ...
the ones where your model labeled it as legit and it was actually fraud. And
then the ones your model labeled as fraud when it was actually legit."

Simplified, and said so on the page: the sentence vectors come from the frozen
bundled BERT (core.embedding_cache: computed once), and each version is a
logistic regression on them (about a second to train), not a BERT fine-tune;
the labels of every week's messages are known at the end of that week.

    stream = make_stream(seed=0)                  # 12 weeks, each a list of Message
    vectors = embed_stream(stream)                # one BERT pass over every sentence
    registry = Registry(stream, vectors)          # v1 trained on the sentences before week 1
    registry.weekly(registry.deployed)            # [WeekScore(week, fn, fp, ...), ...]
    registry.retrain(through_week=6)              # v2, deployed
    registry.rollback(1)                          # v1 deployed again
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

WEEKS = 12
PER_WEEK = 60
PHRASING_FROM = 4          # week new phrasings of "cancel" start to appear
NEW_REASON_FROM = 7        # week a reason to cancel that the first data never had appears
MAX_VERSIONS = 12

# Messages that are not cancellations: the inbox's everyday traffic.
EVERYDAY = (
    "Where is my package? The tracking page shows nothing.",
    "Can I add a second {item} to order {order}?",
    "Thanks, the {item} arrived today and works great.",
    "Do you have the {item} in blue?",
    "What is your return policy for the {item}?",
    "Please send the invoice for order {order} to our accounts team.",
    "Could you change the delivery address on order {order}?",
    "Is the {item} compatible with the older model?",
    "Can I pay for order {order} by bank transfer?",
    "Please confirm order {order} shipped.",
    "Do you offer a bulk discount on the {item}?",
    "Great service, I will order again.",
    "How long is the warranty on the {item}?",
    "Can you deliver order {order} on Saturday instead?",
)
# Later everyday messages that borrow the new words: an old model may flag them.
EVERYDAY_DRIFT = (
    "I'm done comparing, I'll take two more {item}s on order {order}.",
    "Drop me a line when order {order} ships.",
    "Scrap the gift wrap on order {order}, everything else stays.",
    "Kill the reminder emails please, but keep order {order} coming.",
)
# New ways of asking to cancel, from week PHRASING_FROM.
NEW_PHRASINGS = (
    "Pull the plug on order {order}.",
    "I'm out, scrap the whole {item} thing.",
    "Nah, kill order {order}.",
    "Ditch the {item}, not happening anymore.",
    "Drop order {order}, we're done here.",
    "Bin the {item} order, changed plans.",
    "Forget the {item}, call it off.",
    "Call off order {order} please.",
)
# A reason to cancel nobody gave before week NEW_REASON_FROM.
NEW_REASON = (
    "The {item} was recalled for a safety problem, cancel order {order}.",
    "I read about the recall of the {item}, please stop my order.",
    "Safety recall on the {item}; we no longer want it.",
    "Our safety officer banned the {item} after the recall notice.",
    "Cancel order {order}, the {item} failed a safety inspection at a neighbour's site.",
    "After the recall announcement we won't accept the {item}.",
)
ITEMS = ("pump", "drill", "lamp", "heater", "kettle", "router", "ladder", "monitor", "blender", "printer")


@dataclass(frozen=True)
class Message:
    week: int             # 0 = the data the first model was trained on
    text: str
    is_cancel: bool
    kind: str             # "cancel", "new phrasing", "new reason", "everyday", "everyday, new words"


def _fill(template: str, rng: random.Random) -> str:
    return template.format(item=rng.choice(ITEMS), order=f"#{rng.randint(1000, 9999)}")


def make_stream(seed: int = 0, weeks: int = WEEKS, per_week: int = PER_WEEK) -> list[list[Message]]:
    """[week 0 (initial labelled data), week 1, ..., week `weeks`]: seeded, offline.
    Week 0 and the old-style cancellations are the shipped cancellation sentences."""
    from core.datasets import load_shipped

    rng = random.Random(seed)
    old_cancels = list(load_shipped("train").texts) + list(load_shipped("eval").texts)
    rng.shuffle(old_cancels)
    initial = [Message(0, t, True, "cancel") for t in old_cancels[:200]]
    initial += [Message(0, _fill(rng.choice(EVERYDAY), rng), False, "everyday") for _ in range(200)]
    pool = old_cancels[200:]
    stream = [initial]
    for week in range(1, weeks + 1):
        messages = []
        drift = 0.0 if week < PHRASING_FROM else min(0.5, 0.12 * (week - PHRASING_FROM + 1))
        recall = 0.0 if week < NEW_REASON_FROM else min(0.35, 0.1 * (week - NEW_REASON_FROM + 1))
        for _ in range(per_week):
            if rng.random() < 0.5:                      # a cancellation request
                roll = rng.random()
                if roll < recall:
                    messages.append(Message(week, _fill(rng.choice(NEW_REASON), rng), True, "new reason"))
                elif roll < recall + drift:
                    messages.append(Message(week, _fill(rng.choice(NEW_PHRASINGS), rng), True, "new phrasing"))
                else:
                    messages.append(Message(week, rng.choice(pool), True, "cancel"))
            elif rng.random() < drift / 2:
                messages.append(Message(week, _fill(rng.choice(EVERYDAY_DRIFT), rng), False, "everyday, new words"))
            else:
                messages.append(Message(week, _fill(rng.choice(EVERYDAY), rng), False, "everyday"))
        stream.append(messages)
    return stream


def all_texts(stream: Sequence[Sequence[Message]]) -> list[str]:
    return [m.text for week in stream for m in week]


def embed_stream(stream: Sequence[Sequence[Message]]) -> np.ndarray:
    """One frozen-BERT vector per message, in stream order (cached by core.embedding_cache)."""
    from core import embedding_cache

    return embedding_cache.embed_texts(all_texts(stream)).vectors


@dataclass(frozen=True)
class WeekScore:
    week: int
    messages: int
    false_negatives: int     # cancellations the model missed
    false_positives: int     # everyday messages it flagged as cancellations
    accuracy: float


@dataclass
class Version:
    number: int
    trained_through: int     # weeks 0..trained_through were its training data
    examples: int
    seconds: float           # how long training took
    model: object = field(repr=False)

    @property
    def name(self) -> str:
        return f"v{self.number}"


class Registry:
    """Versions of the model, one deployed at a time. Plain Python objects: a page keeps
    one Registry per visitor in its session."""

    def __init__(self, stream: Sequence[Sequence[Message]], vectors: np.ndarray, seed: int = 0):
        if len(vectors) != sum(len(week) for week in stream):
            raise ValueError("One vector per message is needed.")
        self.stream = [list(week) for week in stream]
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.seed = seed
        offsets = np.cumsum([0] + [len(week) for week in self.stream])
        self._rows = [np.arange(offsets[w], offsets[w + 1]) for w in range(len(self.stream))]
        self._truth = np.array([m.is_cancel for week in self.stream for m in week])
        self.versions: list[Version] = []
        self.deployed = 1
        self.retrain(through_week=0)
        self.deployed = 1

    @property
    def weeks(self) -> int:
        return len(self.stream) - 1

    def retrain(self, through_week: int) -> Version:
        """A new version trained on weeks 0..through_week (their labels are known by then),
        deployed at once. Past MAX_VERSIONS the oldest (never the deployed one) is dropped."""
        from sklearn.linear_model import LogisticRegression

        through_week = max(0, min(int(through_week), self.weeks))
        rows = np.concatenate(self._rows[:through_week + 1])
        started = time.perf_counter()
        model = LogisticRegression(max_iter=2000, C=1.0, random_state=self.seed)
        model.fit(self.vectors[rows], self._truth[rows])
        number = (self.versions[-1].number + 1) if self.versions else 1
        version = Version(number, through_week, len(rows), time.perf_counter() - started, model)
        self.versions.append(version)
        self.deployed = number
        while len(self.versions) > MAX_VERSIONS:
            oldest = next(v for v in self.versions if v.number != self.deployed)
            self.versions.remove(oldest)
        return version

    def version(self, number: int) -> Version:
        for v in self.versions:
            if v.number == number:
                return v
        raise KeyError(f"There is no version v{number}.")

    def rollback(self, number: int) -> Version:
        """Deploy an earlier (or any kept) version again."""
        found = self.version(number)
        self.deployed = number
        return found

    def weekly(self, number: int | None = None) -> list[WeekScore]:
        """Weeks 1..N as the given version (default: the deployed one) would have scored them."""
        model = self.version(number or self.deployed).model
        out = []
        for week in range(1, len(self.stream)):
            rows = self._rows[week]
            predicted = model.predict(self.vectors[rows]).astype(bool)
            truth = self._truth[rows]
            out.append(WeekScore(week, len(rows), int((truth & ~predicted).sum()), int((~truth & predicted).sum()),
                                 float((truth == predicted).mean())))
        return out

    def scores(self, number: int, from_week: int, to_week: int | None = None) -> dict:
        """A version's false negatives, false positives and accuracy over weeks from_week..to_week."""
        to_week = to_week or self.weeks
        chosen = [w for w in self.weekly(number) if from_week <= w.week <= to_week]
        messages = sum(w.messages for w in chosen)
        right = sum(w.accuracy * w.messages for w in chosen)
        return {"false_negatives": sum(w.false_negatives for w in chosen),
                "false_positives": sum(w.false_positives for w in chosen),
                "accuracy": right / messages if messages else None, "messages": messages}

    def missed(self, number: int, week: int, limit: int = 8) -> list[Message]:
        """The messages of `week` the version got wrong: the ones to look at."""
        model = self.version(number).model
        rows = self._rows[week]
        predicted = model.predict(self.vectors[rows]).astype(bool)
        wrong = [self.stream[week][i] for i, p in enumerate(predicted) if p != self.stream[week][i].is_cancel]
        return wrong[:limit]
