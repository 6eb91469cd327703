"""The demo's settings: its own plaintext broker whatever cluster the WINBACK_* settings name, and
the channels of its policy for the view."""

from __future__ import annotations

from pathlib import Path

from streams.devtools.demo import DEMO_PARTITIONS, demo_settings, observing, on_local_broker
from streams.runtime.settings import Settings


def test_the_demo_drops_the_settings_of_a_secured_cluster(tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("pw\n")
    secured = Settings(
        broker="b-1.kafka.example.com:9096", security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
        sasl_username="winback", sasl_password_file=password_file, topic_purchases="shop.orders",
    )

    local = on_local_broker(secured, "127.0.0.1:19092")

    assert (local.broker, local.partitions, local.security_protocol) == ("127.0.0.1:19092", DEMO_PARTITIONS, "PLAINTEXT")
    assert (local.sasl_username, local.sasl_password, local.sasl_password_file) == (None, None, None)
    assert local.topic_purchases == "shop.orders"  # the rest is kept


def test_the_demo_watches_every_channel_of_its_policy_its_own_too() -> None:
    """The demo's policy (policy.full.yaml) has a channel of its own, ``app_inbox``, after the built-ins."""
    assert observing(demo_settings(Settings())).channels == ("email", "sms", "push", "app_inbox")
