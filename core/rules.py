"""Rules first: a keyword matcher for the cancellation reasons, and where it breaks.

Before any model, try the rule a programmer would write: "if the sentence says
*expensive*, the reason is price". The rules are plain data a visitor edits as
text, one line per label, tried top to bottom; the first line with a keyword in
the sentence wins, and a sentence no line matches gets the fallback label:

    price: expensive, cheaper, cost
    credit: card, declined
    otherwise: unknown

A keyword matches at the start of a word, case-insensitively: "cost" matches
"Cost" and "costs" but not "Acosta"; several words ("changed my mind") match as
a phrase. Scored on the shipped evaluation and challenge sets, the rules show
where a heuristic is enough and where it breaks: the dataset was written with
keyword traps ("Asked about bulk *pricing*, never heard back" is unresponsive).

    KeywordRules.classify(text) -> label; .explain(text) -> (label, keyword or None)
    parse_rules(text, labels) -> KeywordRules, or RulesError (one sentence)
    format_rules(rules) -> the editable text
    default_rules() / DEFAULT_RULES_TEXT
    score_rules(rules, data, split) -> RulesScore (accuracy, recall per label, every outcome, .breaks())
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

from core.datasets import LABELS, LabelledTexts

FALLBACK_KEY = "otherwise"

# Bounds on what a visitor may type: the text box is parsed on every edit.
MAX_RULES_CHARS = 5_000
MAX_RULE_LINES = 40
MAX_KEYWORDS_PER_RULE = 40
MAX_KEYWORD_CHARS = 40

DEFAULT_RULES_TEXT = """\
found elsewhere: elsewhere, another supplier, another vendor, other supplier, competitor, bought, purchased, found, went with, amazon
credit: card, credit, declined, payment, financing, loan, bank, terms, approve, funds
error: wrong, mistake, by accident, accidentally, duplicate, twice, typo, glitch, meant to, instead of
unresponsive: no reply, no response, no answer, never heard, nobody, no one, never got, unanswered, unreachable, callback, called back
lead time: delivery, shipping, shipped, backorder, lead time, too slow, too long, late, delay, weeks, arrive, wait
price: expensive, price, cost, cheaper, fee, afford, budget, surcharge, pricey, overpriced, too much, pay
not needed: no longer, don't need, not needed, no need, changed my mind, anymore, cancelled, decided
otherwise: unknown
"""


class RulesError(ValueError):
    """Rules text that can't be used; str(error) is one sentence for the page."""


def _normalise(text: str) -> str:
    """Lower case, curly apostrophes made straight, runs of spaces made one:
    what a visitor means by a keyword, whatever their keyboard typed."""
    return " ".join(str(text).replace("\u2019", "'").replace("\u2018", "'").lower().split())


@dataclass(frozen=True)
class Rule:
    label: str
    keywords: tuple[str, ...]

    @cached_property
    def pattern(self) -> re.Pattern:
        # Longest keyword first, so "no reply" wins over "no" when both are listed.
        words = sorted(self.keywords, key=len, reverse=True)
        return re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + ")")


@dataclass(frozen=True)
class KeywordRules:
    """Rules tried in order; `fallback` is the label when none matches."""

    rules: tuple[Rule, ...]
    fallback: str

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([r.label for r in self.rules] + [self.fallback]))

    def explain(self, text: str) -> tuple[str, str | None]:
        """(label, the keyword that fired), or (fallback, None) when no rule fired."""
        normalised = _normalise(text)
        for rule in self.rules:
            found = rule.pattern.search(normalised)
            if found:
                return rule.label, found.group(1)
        return self.fallback, None

    def classify(self, text: str) -> str:
        return self.explain(text)[0]

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.classify(t) for t in texts]


def parse_rules(text: str, labels: Sequence[str] = LABELS) -> KeywordRules:
    """The editable form -> rules. One line per label, `label: keyword, keyword`;
    `otherwise: label` names the fallback (default: "unknown" when it is a label,
    else the first label). Blank lines and lines starting with # are skipped.
    Raises RulesError with one sentence naming the line to fix."""
    text = str(text or "")
    if len(text) > MAX_RULES_CHARS:
        raise RulesError(f"The rules are {len(text):,} characters long; keep them under {MAX_RULES_CHARS:,}.")
    known = {_normalise(name): name for name in labels}
    if not known:
        raise RulesError("There are no labels to write rules for.")
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.strip().startswith("#")]
    if len(lines) > MAX_RULE_LINES:
        raise RulesError(f"There are {len(lines)} rule lines; keep it to {MAX_RULE_LINES} at most.")
    rules: list[Rule] = []
    fallback = None
    for number, line in lines:
        head, colon, tail = line.partition(":")
        if not colon:
            raise RulesError(f'Line {number} ("{_short(line)}") has no colon: write it as "price: expensive, cheaper".')
        name = _normalise(head)
        if name == FALLBACK_KEY:
            fallback = _label_named(tail, known, number)
            continue
        label = _label_named(head, known, number)
        if any(r.label == label for r in rules):
            raise RulesError(f'"{label}" has two lines (the second is line {number}): put all its keywords on one line.')
        rules.append(Rule(label, _keywords(tail, label, number)))
    if not rules:
        raise RulesError('There are no rules yet: add a line such as "price: expensive, cheaper".')
    if fallback is None:
        fallback = known.get("unknown", next(iter(known.values())))
    return KeywordRules(tuple(rules), fallback)


def _label_named(raw: str, known: dict[str, str], number: int) -> str:
    name = _normalise(raw)
    if name not in known:
        listed = ", ".join(known.values())
        raise RulesError(f'Line {number} names "{_short(raw.strip())}", which is not a label; the labels are {listed}.')
    return known[name]


def _keywords(raw: str, label: str, number: int) -> tuple[str, ...]:
    words = [_normalise(w) for w in raw.split(",")]
    words = list(dict.fromkeys(w for w in words if w))
    if not words:
        raise RulesError(f'Line {number} gives "{label}" no keywords; add some after the colon or delete the line.')
    if len(words) > MAX_KEYWORDS_PER_RULE:
        raise RulesError(f'Line {number} has {len(words)} keywords; keep it to {MAX_KEYWORDS_PER_RULE} per label.')
    too_long = next((w for w in words if len(w) > MAX_KEYWORD_CHARS), None)
    if too_long:
        raise RulesError(f'The keyword "{_short(too_long)}" on line {number} is longer than {MAX_KEYWORD_CHARS} characters.')
    return tuple(words)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def format_rules(rules: KeywordRules) -> str:
    """Rules -> the editable text; parse_rules(format_rules(r)) == r."""
    lines = [f"{r.label}: {', '.join(r.keywords)}" for r in rules.rules]
    return "\n".join(lines + [f"{FALLBACK_KEY}: {rules.fallback}"]) + "\n"


def default_rules() -> KeywordRules:
    return parse_rules(DEFAULT_RULES_TEXT, LABELS)


# ---------------------------------------------------------------- scoring


@dataclass(frozen=True)
class RuleOutcome:
    """What the rules did with one sentence."""

    text: str
    label: str                  # the true label
    predicted: str
    keyword: str | None         # the keyword that fired; None: no rule fired, the fallback was used

    @property
    def correct(self) -> bool:
        return self.predicted == self.label

    @property
    def why(self) -> str:
        """'"pricing" fired the price rule' or 'no rule fired, so: unknown'."""
        if self.keyword is None:
            return f"no rule fired, so: {self.predicted}"
        return f'"{self.keyword}" fired the {self.predicted} rule'


@dataclass(frozen=True)
class RulesScore:
    split: str                              # "eval", "challenge" or a file name
    outcomes: tuple[RuleOutcome, ...]
    labels: tuple[str, ...]                 # the data's labels, in order

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def correct(self) -> int:
        return sum(o.correct for o in self.outcomes)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def recall_by_label(self) -> dict[str, float]:
        """Share of each label's sentences the rules got right."""
        out = {}
        for label in self.labels:
            mine = [o for o in self.outcomes if o.label == label]
            out[label] = sum(o.correct for o in mine) / len(mine)
        return out

    @property
    def wrong_rule(self) -> tuple[RuleOutcome, ...]:
        """A keyword fired, for the wrong label: the keyword traps."""
        return tuple(o for o in self.outcomes if not o.correct and o.keyword is not None)

    @property
    def no_rule(self) -> tuple[RuleOutcome, ...]:
        """Nothing fired and the fallback was wrong: words nobody thought of."""
        return tuple(o for o in self.outcomes if not o.correct and o.keyword is None)

    def breaks(self) -> tuple[RuleOutcome, ...]:
        """Every sentence the rules got wrong: wrong rule first, then no rule."""
        return self.wrong_rule + self.no_rule


def score_rules(rules: KeywordRules, data: LabelledTexts, split: str = "eval") -> RulesScore:
    outcomes = []
    for text, label in zip(data.texts, data.labels):
        predicted, keyword = rules.explain(text)
        outcomes.append(RuleOutcome(text, label, predicted, keyword))
    return RulesScore(split, tuple(outcomes), data.label_names)


__all__ = [
    "DEFAULT_RULES_TEXT", "KeywordRules", "Rule", "RuleOutcome", "RulesError", "RulesScore",
    "default_rules", "format_rules", "parse_rules", "score_rules",
]
