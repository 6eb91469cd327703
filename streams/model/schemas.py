"""JSON Schemas (2020-12) of every record, generated from the msgspec models.

The files in ``schemas/`` are what a producer or sender in another language validates
against.  They are generated, never hand-edited, and ``tests/unit/model/test_schemas.py`` fails
when the committed files and the models disagree (``winback schemas export`` fixes that).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, Union

import msgspec
import orjson

from streams.model.records import CustomerStage, Engagement, Erased, MessageCommand, Outcome, Skip, Trigger
from streams.model.events import EmailEngagement, Erasure, Feedback, Login, Profile, Purchase

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://winback-streams.dev/schemas/"
SCHEMA_VERSION = 1


def _documents() -> dict[str, tuple[Any, str]]:
    """File stem -> (model, description) for every published record."""
    return {
        "purchase": (Purchase, "A purchase event on the purchases topic. `type` is optional on a topic."),
        "login": (Login, "A login event on the logins topic. `type` is optional on a topic."),
        "email-engagement": (
            EmailEngagement,
            "An email engagement event on the email topic. `type` is optional on a topic.",
        ),
        "feedback": (
            Feedback,
            "A feedback answer (why the customer left) on the email topic, where its `type` is required."
            " `comment` is personal data: counted, never copied to an output record.",
        ),
        "customer-profile": (
            Profile,
            "A customer profile on the compacted profiles topic (key: customer_id). `type` is optional on a topic.",
        ),
        "backtest-line": (
            Union[Purchase, Login, EmailEngagement, Feedback, Profile, Erasure],
            "One line of a backtest JSON-lines file: any event, profile or erasure, with its `type` required.",
        ),
        "trigger": (Trigger, "A customer entered a lapse stage (audit record on the triggers topic)."),
        "message-command": (MessageCommand, "One message for a sender service, on the topic of its channel."),
        "skip": (Skip, "A campaign step not sent as planned, and why (skips topic)."),
        "outcome": (Outcome, "A conversion attributed to a campaign (outcomes topic)."),
        "engagement": (
            Engagement,
            "What a customer did with a campaign's message (the email event whose message_id is its command_id), outcomes topic.",
        ),
        "erased": (Erased, "A customer the shop erased, and the campaign that ended with it (outcomes topic)."),
        "customer-stage": (
            CustomerStage,
            "A customer's current lifecycle stage (compacted customer-stage topic, key: customer_id; a tombstone: erased).",
        ),
    }


_TOPIC_EVENTS = {"purchase", "login", "email-engagement", "customer-profile"}


def build(stem: str) -> dict[str, Any]:
    """The schema document for one record kind."""
    model, description = _documents()[stem]
    schema: dict[str, Any] = _clean_descriptions(msgspec.json.schema(model))
    if stem in _TOPIC_EVENTS:
        _make_type_optional(schema)
    return {
        "$schema": DIALECT,
        "$id": schema_id(stem),
        "title": stem,
        "description": description,
        **schema,
    }


def _clean_descriptions(node: Any) -> Any:
    """Docstring-derived descriptions with their indentation removed (``inspect.cleandoc``).

    msgspec releases differ in how much of a docstring's indentation they keep; cleaning it
    here makes the files depend on the models alone, not on the msgspec version installed.
    """
    if isinstance(node, dict):
        return {
            key: inspect.cleandoc(value) if key == "description" and isinstance(value, str) else _clean_descriptions(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_clean_descriptions(item) for item in node]
    return node


def _make_type_optional(schema: dict[str, Any]) -> None:
    """On a topic the topic names the event type, so the tag field may be left out."""
    for definition in schema.get("$defs", {}).values():
        if "type" in definition.get("properties", {}):
            definition["required"] = [name for name in definition["required"] if name != "type"]


def model_name(stem: str) -> str:
    """The ``$defs`` entry that holds a single-model document's definition."""
    model, _ = _documents()[stem]
    name: str = model.__name__
    return name


def schema_id(stem: str) -> str:
    """The ``$id`` of a record kind's schema (its published URL)."""
    return f"{ID_BASE}{file_name(stem)}"


def file_name(stem: str) -> str:
    return f"{stem}.v{SCHEMA_VERSION}.json"


def render(stem: str) -> bytes:
    """The exact bytes of a schema file (stable formatting so diffs stay readable)."""
    return orjson.dumps(build(stem), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def export(directory: Path) -> list[Path]:
    """Write every schema file into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for stem in _documents():
        path = directory / file_name(stem)
        path.write_bytes(render(stem))
        written.append(path)
    return written


def stale(directory: Path) -> list[str]:
    """Names of schema files missing from ``directory`` or whose content differs from the models.

    Compared as data, not as bytes: a file reformatted by an editor is still current.
    """
    return [file_name(stem) for stem in _documents() if _committed(directory / file_name(stem)) != build(stem)]


def _committed(path: Path) -> Any:
    """The parsed schema document at ``path``, or None when it is missing or not JSON."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
