"""The committed JSON Schemas and the Python models must not drift apart.

Three checks: the files are exactly what the models generate; every file is a valid 2020-12
schema; and the two accept the same records (generated events validate against the files,
and documents generated from the files decode with the models).  And the README names every file.
"""

import json
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from streams.cli import main
from streams.model import schemas
from streams.model.time_zones import is_time_zone
from streams.model.codec import Rejection, decode_record
from streams.model.records import MessageCommand, Offer, Personalisation, command_id, to_datetime
from streams.devtools.traffic import generate_history

SCHEMA_DIR = Path(__file__).parents[3] / "schemas"
README = SCHEMA_DIR.parent / "README.md"
TOPIC_FILES = {"purchase": "purchase", "login": "login", "email": "email-engagement", "profile": "customer-profile"}


def load(stem: str) -> dict:
    return json.loads((SCHEMA_DIR / schemas.file_name(stem)).read_text())


def validator(stem: str) -> Draft202012Validator:
    return Draft202012Validator(load(stem), format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_committed_files_match_the_models():
    assert schemas.stale(SCHEMA_DIR) == [], "run `winback schemas export` and commit the result"


@pytest.mark.parametrize("path", sorted(SCHEMA_DIR.glob("*.json")), ids=lambda path: path.name)
def test_the_readme_names_every_file(path: Path):
    assert f"`{path.name}`" in README.read_text()


@pytest.mark.parametrize("path", sorted(SCHEMA_DIR.glob("*.json")), ids=lambda path: path.name)
def test_every_file_is_a_valid_2020_12_schema(path: Path):
    document = json.loads(path.read_text())
    assert document["$schema"] == schemas.DIALECT
    Draft202012Validator.check_schema(document)


def test_generated_events_validate_against_the_files():
    events = generate_history(100, 90, seed=5)
    for event in events:
        document = msgspec.to_builtins(event)
        validator("backtest-line").validate(document)
        kind = document.pop("type")
        validator(TOPIC_FILES[kind]).validate(document)  # `type` is optional on a topic


def test_a_command_validates_against_its_file():
    command = MessageCommand(
        command_id=command_id("cust-1", "winback", 0, 1),
        customer_id="cust-1",
        channel="email",
        campaign="winback",
        stage="winback",
        step=0,
        episode=1,
        template="winback-offer",
        offer=Offer(percent_off=20),
        personalisation=Personalisation(days_inactive=90, purchase_count=3, total_spend=120.5, top_categories=["shoes"]),
        due_at=to_datetime(1.7e9),
        send_after=to_datetime(1.7e9),
        expires_at=to_datetime(1.7e9 + 86400),
    )
    validator("message-command").validate(msgspec.to_builtins(command))


def test_schema_rejects_what_the_codec_rejects():
    bad = {"event_id": "e", "customer_id": "c", "occurred_at": "2024-01-01T00:00:00", "order_id": "o", "amount": -1, "currency": "eur"}
    errors = {error.json_path for error in validator("purchase").iter_errors(bad)}
    assert errors == {"$.occurred_at", "$.amount", "$.currency"}
    assert isinstance(decode_record(json.dumps(bad).encode(), "purchase"), Rejection)


valid_values = {
    "event_id": st.sampled_from(["e-1", "évènement", "x" * 128]),
    "customer_id": st.sampled_from(["cust-1", "c"]),
    "occurred_at": st.sampled_from(["2024-03-01T10:00:00Z", "2024-03-01T10:00:00.123+05:30", "2024-03-01t10:00:00z"]),
    "order_id": st.just("o-1"),
    "amount": st.sampled_from([0, 12.5, 1e12]),
    "currency": st.sampled_from(["EUR", "JPY"]),
    "categories": st.lists(st.sampled_from(["shoes", "bags"]), max_size=3),
    "action": st.sampled_from(["open", "click", "complaint"]),
    "platform": st.sampled_from([None, "ios"]),
    "campaign_id": st.sampled_from([None, "newsletter"]),
    "message_id": st.sampled_from([None, "m-1"]),
    "discount_code": st.sampled_from([None, "WB20"]),
    "updated_at": st.sampled_from(["2024-03-01T10:00:00Z", "2024-03-01T10:00:00-08:00"]),
    "reachable": st.lists(st.sampled_from(["email", "sms", "push"]), max_size=3),
    "consent": st.lists(st.sampled_from(["email", "sms"]), max_size=2),
    "preferred_channel": st.sampled_from([None, "push"]),
    "time_zone": st.sampled_from([None, "Europe/Berlin", "UTC"]),
    "locale": st.sampled_from([None, "de-DE", "en"]),
}
invalid_values = st.sampled_from(
    [None, "", "x" * 129, "a\u0000b", -1, 1e13, True, [], {}, "2024-03-01T10:00:00", "2024-03-01", "2024-13-01T10:00:00Z",
     "2024-03-01T25:00:00Z", "eur", "EURO", ["x" * 65], ["a"] * 33, "nope"]
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(TOPIC_FILES)), st.data())
def test_schema_and_codec_accept_the_same_documents(kind: str, data: st.DataObject):
    """Near-valid documents: each field valid, invalid or absent; the two judges must agree."""
    fields = [name for name in load(TOPIC_FILES[kind])["$defs"][schemas.model_name(TOPIC_FILES[kind])]["properties"] if name != "type"]
    document = {}
    for name in fields:
        choice = data.draw(st.sampled_from(["valid", "valid", "valid", "invalid", "absent"]), label=name)
        if choice != "absent":
            document[name] = data.draw(valid_values[name] if choice == "valid" else invalid_values, label=name)
    schema_ok = validator(TOPIC_FILES[kind]).is_valid(document)
    result = decode_record(json.dumps(document).encode(), kind)
    zone = document.get("time_zone")
    if schema_ok and isinstance(zone, str) and not is_time_zone(zone):
        # The one check a schema cannot express: the name must be in the zone database.
        assert result == Rejection("invalid_value", f"time_zone {zone!r} is not an IANA time zone")
        return
    assert schema_ok == (not isinstance(result, Rejection)), (document, result)


def test_staleness_is_judged_on_content_not_formatting(tmp_path: Path):
    """A compactly reformatted file is current; a changed description is stale."""
    schemas.export(tmp_path)
    path = tmp_path / schemas.file_name("purchase")
    path.write_text(json.dumps(json.loads(path.read_text()), separators=(",", ":")))
    assert schemas.stale(tmp_path) == []
    document = json.loads(path.read_text())
    document["description"] += " (edited)"
    path.write_text(json.dumps(document))
    assert schemas.stale(tmp_path) == [schemas.file_name("purchase")]


def test_descriptions_carry_no_docstring_indentation():
    """msgspec versions differ in the indentation they keep; the files must not depend on it."""
    for stem in ("customer-profile", "message-command", "skip"):
        text = json.dumps(schemas.build(stem))
        assert "\\n    " not in text, stem


def test_export_into_what_cannot_be_a_directory_is_one_line(tmp_path: Path):
    file = tmp_path / "file"
    file.write_text("")

    result = CliRunner().invoke(main, ["schemas", "export", str(file / "schemas")])

    assert (result.exit_code, result.stderr) == (1, f"winback: cannot write {file / 'schemas'}: Not a directory\n")  # was a traceback
