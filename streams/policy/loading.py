"""Reading a policy file: YAML with the line of every key, validated into a ``Policy``.

Every problem is reported at once (``PolicyError``), a repeated key too (YAML would silently
keep the last one).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no types
from pydantic import ValidationError

from streams.policy.messages import PolicyError, explain, report
from streams.policy.sections import Policy, keys_at

# The model file ``winback model fit`` writes and ``predictive.model`` names: its layout's version and model.
MODEL_FILE_FORMAT = 1
MODEL_KIND = "bg/nbd"
# Keys and items a policy may hold with its aliases expanded: the fullest example has a few
# hundred; a YAML "billion laughs" bomb, billions (validating them would hang and fill memory).
MAX_VALUES = 100_000


def default_policy_path() -> Path:
    """The bundled example policy (the demo's and the CLI's default)."""
    return Path(str(resources.files("streams") / "resources" / "policy.example.yaml"))


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; raise ``PolicyError`` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError([f"{path}: cannot read: {error}"]) from None
    return parse_policy(text, source=str(path), base=path.parent)


def parse_policy(text: str, source: str = "<policy>", base: Path = Path(".")) -> Policy:
    """Validate policy YAML text; ``source`` names it in error messages, files it names are
    relative to ``base``."""
    data, lines, duplicates = _read_yaml(text, source)
    if not isinstance(data, dict):
        top_level = ("", "expected a mapping with stages and campaigns")
        raise PolicyError(report(source, [*duplicates, top_level], lines))
    unreadable = _read_model_file(data, base)
    if unreadable:
        raise PolicyError(report(source, [*duplicates, unreadable], lines))
    try:
        policy = Policy.model_validate(data)
    except ValidationError as error:
        raise PolicyError(report(source, [*duplicates, *explain(error, keys_at)], lines)) from None
    if duplicates:
        raise PolicyError(report(source, duplicates, lines))
    return policy


def _read_model_file(data: dict[str, Any], base: Path) -> tuple[str, str] | None:
    """Put the parameters of the file ``predictive.model`` names in its place (a mapping there
    is inline parameters); the problem, as (key path, message), if the file cannot be used."""
    predictive = data.get("predictive")
    if not isinstance(predictive, dict) or not isinstance(predictive.get("model"), str):
        return None
    path = base / predictive["model"]
    try:
        written = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return "predictive.model", f"cannot read {path}: {error}"
    if not isinstance(written, dict) or written.get("format") != MODEL_FILE_FORMAT or written.get("model") != MODEL_KIND:
        return "predictive.model", f"{path} is not a model file written by `winback model fit` (format {MODEL_FILE_FORMAT}, {MODEL_KIND})"
    parameters = written.get("parameters")
    predictive["model"] = {**parameters, "time_unit_days": written.get("time_unit_days", 1.0)} if isinstance(parameters, dict) else parameters
    return None


def _read_yaml(text: str, source: str) -> tuple[Any, dict[str, int], list[tuple[str, str]]]:
    """Parse YAML keeping each key path's line number, and noticing repeated keys (YAML keeps the last)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(syntax)"
        raise PolicyError([f"{source}: {where}: {getattr(error, 'problem', None) or error}"]) from None
    except RecursionError:  # PyYAML reads nested lists and mappings recursively
        raise PolicyError([f"{source}: lists or mappings nested too deeply to read"]) from None
    finally:
        loader.dispose()
    index = _KeyLines(source)
    if node is not None:
        index.walk(node, "")
    return data, index.lines, index.duplicates


class _KeyLines:
    """The line of every key path of a YAML document, and its repeated keys.

    Aliases are walked where they are used, as validation will see them, so two things a
    hostile or broken file can do are refused here, before validation would hang or overflow:
    an alias inside what it names (a loop), and aliases of aliases expanding to billions of
    values (a "billion laughs" bomb): at most ``MAX_VALUES`` keys and items in all.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[str, int] = {}
        self.duplicates: list[tuple[str, str]] = []
        self._values = 0
        self._inside: set[int] = set()  # the lists and mappings being walked, around the current node

    def walk(self, node: yaml.Node, path: str) -> None:
        self._values += 1
        if self._values > MAX_VALUES:
            raise PolicyError([f"{self.source}: more than {MAX_VALUES:,} keys and items with its aliases expanded: write it out without nesting aliases"])
        if id(node) in self._inside:
            raise PolicyError([f"{self.source}: {path}: an alias inside the list or mapping it names (line {self.lines.get(path, 1)})"])
        self._inside.add(id(node))
        for child, child_node in self._children(node, path):
            self.walk(child_node, child)
        self._inside.discard(id(node))

    def _children(self, node: yaml.Node, path: str) -> list[tuple[str, yaml.Node]]:
        """The key paths and nodes of a mapping's values or a list's items (none for a scalar), their lines noted."""
        children: list[tuple[str, yaml.Node]] = []
        if isinstance(node, yaml.MappingNode):
            written: set[str] = set()  # keys written in this mapping, not merged into it (``<<: *base``)
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = f"{path}.{key}" if path else key
                if _within(key_node, node):  # a merged key lies elsewhere: a key written here overrides it
                    if key in written:
                        self.duplicates.append((child, "repeated key; only the last one would count"))
                    written.add(key)
                self.lines[child] = key_node.start_mark.line + 1
                children.append((child, value_node))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = f"{path}[{index}]"
                self.lines[child] = item.start_mark.line + 1
                children.append((child, item))
        return children


def _within(inner: yaml.Node, outer: yaml.Node) -> bool:
    """Whether ``inner`` is written inside ``outer`` in the file."""
    return bool(outer.start_mark.index <= inner.start_mark.index < outer.end_mark.index)
