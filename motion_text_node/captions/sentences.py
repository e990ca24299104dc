"""Natural sentences from facts: a few templates, verbs conjugated, varied by a seeded ``random.Random``."""

from __future__ import annotations

import random
from collections.abc import Sequence

from motion_text_node.captions.facts import Fact

SUBJECTS: tuple[str, ...] = ("a person", "someone", "the person", "a person", "somebody", "a figure")

_IRREGULAR_3RD = {"do": "does", "go": "goes", "have": "has", "be": "is"}
_IRREGULAR_ING = {"lie": "lying", "be": "being", "see": "seeing"}
_DOUBLE_FINAL = {"run", "sit", "get", "hop", "step", "clap", "spin", "jog", "squat", "stop", "skip", "hit", "put",
                 "drop", "swim", "set", "cut"}


def third_person(verb: str) -> str:
    """Third person singular of a base-form verb ("raise" -> "raises", "crouch" -> "crouches")."""
    if verb in _IRREGULAR_3RD:
        return _IRREGULAR_3RD[verb]
    if verb.endswith(("s", "sh", "ch", "x", "z")):
        return verb + "es"
    if verb.endswith("y") and len(verb) > 1 and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def gerund(verb: str) -> str:
    """-ing form of a base-form verb ("wave" -> "waving", "run" -> "running")."""
    if verb in _IRREGULAR_ING:
        return _IRREGULAR_ING[verb]
    if verb in _DOUBLE_FINAL:
        return verb + verb[-1] + "ing"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
        return verb[:-1] + "ing"
    return verb + "ing"


def _inflect(description: str, form: str) -> str:
    verb, _, rest = description.partition(" ")
    verb = third_person(verb) if form == "3rd" else gerund(verb)
    return f"{verb} {rest}".strip()


def _sequential(a: Fact, b: Fact) -> bool:
    """True when ``b`` clearly happens after ``a`` (their spans barely overlap)."""
    if a.start_s is None or b.start_s is None or a.end_s is None or b.end_s is None:
        return False
    return b.start_s >= a.start_s + 0.3 and b.start_s >= a.end_s - 0.25


def sentence(facts: Sequence[Fact], rng: random.Random) -> str:
    """One sentence about 1-3 facts (given most salient first): "a person walks backward, then turns left"."""
    if not facts:
        raise ValueError("a sentence needs at least one fact")
    facts = list(facts)[:3]
    # A clear order in time reads better than salience order: "walks forward, then turns around".
    ordered = sorted(facts, key=lambda f: f.start_s if f.start_s is not None else 0.0)
    chain = all(_sequential(a, b) for a, b in zip(ordered, ordered[1:], strict=False))
    if chain and len(facts) > 1:
        facts = ordered
    subject = rng.choice(SUBJECTS)
    desc = [rng.choice(f.descriptions()) for f in facts]
    verbs = [_inflect(d, "3rd") for d in desc]
    if len(facts) == 1:
        return f"{subject} {verbs[0]}"
    if chain:
        if len(facts) == 2:
            joiner = rng.choice((", then ", " and then ", ", and then "))
            return f"{subject} {verbs[0]}{joiner}{verbs[1]}"
        return f"{subject} {verbs[0]}, {verbs[1]}, then {verbs[2]}"
    if len(facts) == 2:
        if rng.random() < 0.4:
            return f"{subject} {verbs[0]} while {_inflect(desc[1], 'ing')}"
        return f"{subject} {verbs[0]} and {verbs[1]}"
    return f"{subject} {verbs[0]}, {verbs[1]} and {verbs[2]}"


def caption_sentences(facts: Sequence[Fact], rng: random.Random, n: int = 3) -> list[str]:
    """Up to ``n`` different sentences describing ``facts`` (deterministic for a seeded ``rng``).

    Each sentence names 1-3 facts, chosen most salient first: the first sentence the top ones, later ones a
    random subset that always keeps the most salient fact. An empty fact list gives an empty list.
    """
    ranked = sorted(facts, key=lambda f: -f.salience)
    if not ranked or n <= 0:
        return []
    out: list[str] = []
    for i in range(max(n * 4, 4)):
        if len(out) >= n:
            break
        k = min(len(ranked), rng.choice((1, 2, 2, 3)) if i else min(3, len(ranked)))
        if i == 0 or len(ranked) <= k:
            chosen = ranked[:k]
        else:
            rest = rng.sample(ranked[1:], k - 1)
            chosen = [ranked[0]] + sorted(rest, key=lambda f: -f.salience)
        text = sentence(chosen, rng)
        if text not in out:
            out.append(text)
    return out
