"""How a policy's problems are worded: one ``FILE: key.path: what is wrong (line N)`` line each.

Marketers edit policy files, so a problem names the key it is about in the file's own terms
(``campaigns.winback.steps[1].channel``), the line it is on, and for an unknown name the
closest known ones, among the keys valid at that place.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable

from pydantic import ValidationError


class PolicyError(ValueError):
    """A policy file that cannot be used; ``problems`` holds one ``FILE: key.path: what`` line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def as_days(value: float) -> str:
    return f"{value:g} days"


SUGGESTIONS = 2
LIKENESS_CUTOFF = 0.6  # difflib's own default: below it, two words have little in common


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'a'?)`` naming the candidates ``word`` may be a misspelling of, closest
    first (at most ``SUGGESTIONS``); empty when none is close."""
    close = _closest(word, candidates)[:SUGGESTIONS]
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def _closest(word: str, candidates: Iterable[str]) -> list[str]:
    """The candidates at least ``LIKENESS_CUTOFF`` like ``word``, most alike first (ties in their given order)."""
    scored = [(_likeness(word, candidate), candidate) for candidate in candidates if candidate != word]
    ranked = sorted(scored, key=lambda pair: -pair[0])  # stable: ties keep the candidates' order
    return [candidate for likeness, candidate in ranked if likeness >= LIKENESS_CUTOFF]


def _likeness(word: str, key: str) -> float:
    """How alike a typed ``word`` and a snake_case ``key`` are, from 0 to 1.

    difflib's ratio of the spellings, or of their words sorted (``days_after`` is ``after_days``
    with its words swapped, which difflib alone rates 0.5); a word that is some of the key's
    words (``cadence`` for ``cadence_multiplier``) scores the cutoff, enough to be named after
    better matches.
    """
    spelled = difflib.SequenceMatcher(None, word, key).ratio()
    words, key_words = word.split("_"), key.split("_")
    reordered = difflib.SequenceMatcher(None, "_".join(sorted(words)), "_".join(sorted(key_words))).ratio()
    part = LIKENESS_CUTOFF if set(words) < set(key_words) else 0.0
    return max(spelled, reordered, part)


def report(source: str, found: Iterable[tuple[str, str]], lines: dict[str, int]) -> list[str]:
    """Each (key path, message) as ``FILE: key.path: what (line N)``, in line order, so the
    list reads like the file; problems without a line come last, in the order found."""
    located = [(path, message, lines.get(path) or lines.get(path.rsplit(".", 1)[0])) for path, message in found]
    located.sort(key=lambda problem: problem[2] or math.inf)  # stable: one line's problems keep their order
    return [f"{source}: {path or '(top level)'}: {message}{f' (line {line})' if line else ''}" for path, message, line in located]


def explain(error: ValidationError, keys_at: Callable[[tuple[int | str, ...]], Iterable[str]]) -> list[tuple[str, str]]:
    """pydantic's errors as (key path, plain message), expanding cross-field conflicts.

    ``keys_at(place)``: the keys a mapping at that pydantic location may hold, the candidates
    of an unknown key's did-you-mean there.
    """
    explained: list[tuple[str, str]] = []
    for detail in error.errors(include_url=False):
        if detail["type"] == "policy_conflict":
            explained.extend(detail["ctx"]["problems"])
            continue
        path = key_path(detail["loc"])
        if detail["type"] == "extra_forbidden":
            *place, key = detail["loc"]
            message = f"unknown key{did_you_mean(str(key), keys_at(tuple(place)))}"
        elif detail["type"] == "missing":
            message = "required key is missing"
        else:
            message = detail["msg"]
        explained.append((path, message))
    return explained


def key_path(loc: tuple[int | str, ...]) -> str:
    """pydantic's error location as the file's key path: ``campaigns.winback.steps[1]``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path
