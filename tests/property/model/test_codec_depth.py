"""The nesting limit: whatever brackets, quotes and escapes the bytes hold, a record a JSON
parser would follow deeper than the limit is rejected as ``too_deep`` (the decoder never gets
to recurse that deep), and a JSON document is rejected so exactly when it nests past the limit.

The reference walks the bytes one at a time as a JSON tokenizer does: a quote outside a string
opens one, a backslash inside escapes the next byte, the next unescaped quote closes it; a
closing bracket with nothing open is a syntax error, where a parser stops.
"""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.model.codec import DEFAULT_LIMITS, decode_line, decode_record

LIMIT = DEFAULT_LIMITS.max_depth


def reference_depth(raw: bytes) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == ord("\\"):
                escaped = True
            elif byte == ord('"'):
                in_string = False
        elif byte == ord('"'):
            in_string = True
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            if not depth:
                break
            depth -= 1
    return deepest


# Runs of brackets, quotes and escapes, so that depths near the limit and strings full of
# brackets come up often.
pieces = st.sampled_from([b"[", b"{", b"]", b"}", b'"', b"\\", b'\\"', b"a", b",", b":", b"[" * 16, b"]" * 16, b"{" * 16])
soups = st.lists(pieces, max_size=200).map(b"".join)


def nested(children):
    return st.lists(children, max_size=2) | st.dictionaries(st.text(alphabet="[]{}\"\\a", max_size=4), children, max_size=2)


documents = st.recursive(st.none() | st.integers() | st.text(alphabet='[]{}"\\a', max_size=6), nested, max_leaves=60)


@settings(max_examples=1500, deadline=None)
@given(soups, st.sampled_from(["purchase", "login", "email", "profile"]))
def test_bytes_a_parser_would_follow_past_the_limit_are_too_deep(raw: bytes, kind: str):
    record, line = decode_record(raw, kind), decode_line(raw)  # neither raises
    if reference_depth(raw) > LIMIT:
        assert record.reason == line.reason == "too_deep"


@settings(max_examples=500, deadline=None)
@given(documents, st.integers(0, 40))
def test_json_documents_are_too_deep_exactly_when_they_nest_past_the_limit(document: object, wrapped: int):
    raw = ("[" * wrapped + json.dumps(document) + "]" * wrapped).encode()
    result = decode_record(raw, "login")
    assert (getattr(result, "reason", None) == "too_deep") == (reference_depth(raw) > LIMIT)
