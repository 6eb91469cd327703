"""How a policy's problems are worded: one ``FILE: key.path: what is wrong (line N)`` line each.

Marketers edit policy files, so a problem names the key it is about in the file's own terms
(``campaigns.winback.steps[1].channel``), the line it is on, and for an unknown name the
closest known one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pydantic import ValidationError


class PolicyError(ValueError):
    """A policy file that cannot be used; ``problems`` holds one ``FILE: key.path: what`` line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def as_days(value: float) -> str:
    return f"{value:g} days"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``candidates``, or nothing."""
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def problem(source: str, path: str, message: str, lines: dict[str, int]) -> str:
    """One problem line: where (``source``, key ``path`` and its line, if known) and what."""
    line = lines.get(path) or lines.get(path.rsplit(".", 1)[0])
    where = f" (line {line})" if line else ""
    return f"{source}: {path or '(top level)'}: {message}{where}"


def explain(error: ValidationError, known_keys: Iterable[str]) -> list[tuple[str, str]]:
    """pydantic's errors as (key path, plain message), expanding cross-field conflicts."""
    explained: list[tuple[str, str]] = []
    for detail in error.errors(include_url=False):
        if detail["type"] == "policy_conflict":
            explained.extend(detail["ctx"]["problems"])
            continue
        path = key_path(detail["loc"])
        if detail["type"] == "extra_forbidden":
            key = str(detail["loc"][-1])
            message = f"unknown key{did_you_mean(key, known_keys)}"
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
