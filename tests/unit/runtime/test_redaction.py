"""Secrets in settings: which values are secret, how they are shown, and the output filter.

The coverage is by construction: a settings class with SASL/TLS-like fields added (as a later
issue will) gets them masked by their type or name, without touching the redaction module.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from streams.runtime.redaction import MASK, RedactingStream, is_secret, redact_output, secret_values, shown, without_passwords
from streams.runtime.settings import Settings

SECRET = "s3cr#t:pa@ss"  # a ':' and an '@' of its own, as a real password may have


class FutureSettings(Settings):
    """Settings as a later issue may extend them."""

    api_token: str = ""
    signing_key: str = ""
    token_file: Path | None = None  # where a secret is, not the secret


SASL = {"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "sasl_username": "winback"}


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (f"kafka://winback:{SECRET}@kafka-0:9092", f"kafka://winback:{MASK}@kafka-0:9092"),
        (f"winback:{SECRET}@kafka-0:9092,kafka-1:9092", f"winback:{MASK}@kafka-0:9092,kafka-1:9092"),
        ("a:1@h1:9092, b:2@h2:9092", f"a:{MASK}@h1:9092, b:{MASK}@h2:9092"),
        ("user@kafka-0:9092", "user@kafka-0:9092"),  # a user name alone is no secret
        ("alice:s3c,r3t@kafka-0:9092,kafka-1:9092", f"alice:{MASK}@kafka-0:9092,kafka-1:9092"),  # a comma in the password
        ("kafka-0:9092,user@kafka-1:9092", "kafka-0:9092,user@kafka-1:9092"),  # a server, then one with a user alone
        ("kafka-0:9092", "kafka-0:9092"),
        ("/etc/winback/policy@v2.yaml", "/etc/winback/policy@v2.yaml"),
        ("fixed:2024-06-01T00:00:00+00:00", "fixed:2024-06-01T00:00:00+00:00"),
        ("[::1", "[::1"),  # not a URL: left alone, no error
    ],
)
def test_passwords_in_urls_are_masked_and_nothing_else(value: str, masked: str) -> None:
    assert without_passwords(value) == masked


def test_secret_fields_are_found_by_type_or_name() -> None:
    secret = {name for name in FutureSettings.model_fields if is_secret(FutureSettings, name)}

    assert secret == {"sasl_password", "schema_registry_password", "api_token", "signing_key"}
    assert {name for name in Settings.model_fields if is_secret(Settings, name)} == {"sasl_password", "schema_registry_password"}  # not the file: a path


def test_secret_values_are_every_secret_field_and_url_password() -> None:
    settings = FutureSettings(
        broker=f"kafka://winback:{SECRET}@kafka-0:9092,other:p%40ss@kafka-1:9092",
        **SASL,
        sasl_password=SecretStr("sasl-pw"),
        api_token="tok-123",
    )

    assert secret_values(settings) == {SECRET, "p%40ss", "p@ss", "sasl-pw", "tok-123"}


def test_shown_values_hide_secrets_but_not_the_rest() -> None:
    settings = FutureSettings(broker=f"winback:{SECRET}@kafka-0:9092", **SASL, sasl_password=SecretStr("sasl-pw"), api_token="tok-123")

    assert shown(FutureSettings, "broker", settings.broker) == f"winback:{MASK}@kafka-0:9092"
    assert shown(FutureSettings, "sasl_password", settings.sasl_password) == MASK
    assert shown(FutureSettings, "api_token", "tok-123") == MASK
    assert shown(FutureSettings, "sasl_mechanism", "PLAIN") == "PLAIN"
    assert shown(FutureSettings, "ssl_keyfile", None) == "None"


def test_a_password_read_from_its_file_is_as_secret_as_one_given_directly(tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("pw-from-file\n")  # as `kubectl create secret --from-file` mounts it

    settings = Settings(**SASL, sasl_password_file=password_file)

    assert settings.sasl_password == SecretStr("pw-from-file")
    assert secret_values(settings) == {"pw-from-file"}
    assert shown(Settings, "sasl_password_file", settings.sasl_password_file) == str(password_file)


def test_the_broker_s_credentials_never_reach_a_kafka_client() -> None:
    settings = Settings(broker=f"kafka://winback:{SECRET}@kafka-0:9092,kafka-1:9092")

    assert settings.bootstrap_servers == ["kafka-0:9092", "kafka-1:9092"]
    assert settings.faust_broker == ["kafka://kafka-0:9092", "kafka://kafka-1:9092"]
    comma = Settings(broker="kafka://alice:s3c,r3t@kafka-0:9092,kafka-1:9092")  # a comma in the password
    assert comma.bootstrap_servers == ["kafka-0:9092", "kafka-1:9092"]


def test_the_stream_masks_every_secret_the_longest_first() -> None:
    target = io.StringIO()
    stream = RedactingStream(target, ["pw", "pw-long"])

    print("broker winback:pw-long@h:1 and pw", file=stream)
    stream.writelines(["x pw\n", "y\n"])

    assert target.getvalue() == f"broker winback:{MASK}@h:1 and {MASK}\nx {MASK}\ny\n"
    assert stream.encoding == target.encoding  # the rest is the wrapped stream's
    with pytest.raises(AttributeError):
        stream.buffer  # noqa: B018  (nothing may write around the redaction)


def test_redact_output_wraps_stdout_and_stderr_only_when_there_is_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)

    redact_output(Settings(broker="kafka-0:9092"))
    assert (sys.stdout, sys.stderr) == (out, err)

    redact_output(Settings(broker=f"kafka://winback:{SECRET}@kafka-0:9092"))
    print(f"connecting to winback:{SECRET}@kafka-0:9092")
    print(f"failed: {SECRET!r}", file=sys.stderr)
    assert (out.getvalue(), err.getvalue()) == (f"connecting to winback:{MASK}@kafka-0:9092\n", f"failed: '{MASK}'\n")
