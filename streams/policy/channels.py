"""The channels a policy defines besides email, SMS and push: direct mail, ads audiences, in-app, webhooks.

Each is named under ``channels.custom`` with its kind, the Kafka topic its commands go to and
the profile consent field that must allow it (by default the kind's own: ``postal`` for direct
mail, ``ads`` for audiences, ``in_app``, ``webhook``).  Steps, the fallback order, caps, quiet
hours and send costs name it like a built-in channel.  The kind says what the command's
``payload`` carries (``streams.model.records.ChannelPayload``); the settings it needs are here.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from streams.model.events import CHANNELS, CONSENT_FIELDS, ConsentField
from streams.model.records import Audience, ChannelPayload, DirectMail, InApp, Webhook
from streams.policy.base import Section
from streams.policy.messages import did_you_mean

ChannelKind = Literal["email", "sms", "push", "direct_mail", "audience", "in_app", "webhook"]
DEFAULT_CONSENT: dict[str, ConsentField] = {
    "email": "email", "sms": "sms", "push": "push", "direct_mail": "postal", "audience": "ads", "in_app": "in_app", "webhook": "webhook"
}
# Which kind's settings each optional key is (a key of another kind is an error, not ignored).
KIND_OF_SETTING = {
    "format": "direct_mail", "mail_class": "direct_mail", "audience_id": "audience", "placement": "in_app", "url": "webhook", "method": "webhook"
}
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
CHANNEL_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


def topic_name(name: str) -> str:
    """A name Kafka accepts for a topic: letters, digits, ``.``, ``_``, ``-``, at most 249, not ``.`` or ``..``."""
    if not _TOPIC.match(name) or name in (".", ".."):
        raise PydanticCustomError("topic", "{name} is not a Kafka topic name (letters, digits, '.', '_', '-'; at most 249)", {"name": name})
    return name


def _consent_field(name: str) -> str:
    if name not in CONSENT_FIELDS:
        known = ", ".join(CONSENT_FIELDS)
        raise PydanticCustomError(
            "consent", "{name} is not a profile consent field ({known}){hint}", {"name": name, "known": known, "hint": did_you_mean(name, CONSENT_FIELDS)}
        )
    return name


TopicName = Annotated[str, AfterValidator(topic_name)]
ChannelName = Annotated[str, Field(pattern=CHANNEL_NAME_PATTERN)]


class ChannelDefinition(Section):
    """One channel of the policy's own: its kind, topic, consent field and the kind's settings."""

    kind: ChannelKind
    topic: TopicName
    consent: Annotated[str, AfterValidator(_consent_field)] | None = None  # None: the kind's own
    format: Literal["letter", "postcard", "catalog"] | None = None
    mail_class: Literal["standard", "first_class"] | None = None
    audience_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")] | None = None
    placement: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")] | None = None
    url: Annotated[str, Field(max_length=2000, pattern=r"^https://[^\s]+$")] | None = None
    method: Literal["POST", "PUT"] | None = None

    @model_validator(mode="after")
    def _settings_of_its_kind(self) -> ChannelDefinition:
        for key, kind in KIND_OF_SETTING.items():
            if getattr(self, key) is not None and kind != self.kind:
                raise PydanticCustomError("channel", "{key} is a setting of {kind} channels, not {this}", {"key": key, "kind": kind, "this": self.kind})
        if self.kind == "audience" and self.audience_id is None:
            raise PydanticCustomError("channel", "an audience channel needs its audience_id")
        if self.kind == "webhook" and self.url is None:
            raise PydanticCustomError("channel", "a webhook channel needs its url (https)")
        return self

    @property
    def consent_field(self) -> str:
        """The profile consent field that must allow this channel."""
        return self.consent or DEFAULT_CONSENT[self.kind]

    def payload(self) -> ChannelPayload | None:
        """What a command on this channel carries for its kind (an audience's: "add")."""
        if self.kind == "direct_mail":
            return DirectMail(format=self.format or "letter", mail_class=self.mail_class or "standard")
        if self.kind == "audience":
            assert self.audience_id is not None  # required for the kind (_settings_of_its_kind)
            return Audience(audience_id=self.audience_id)
        if self.kind == "in_app":
            return InApp(placement=self.placement or "inbox")
        if self.kind == "webhook":
            assert self.url is not None  # required for the kind
            return Webhook(url=self.url, method=self.method or "POST")
        return None


def definition_problems(custom: dict[str, ChannelDefinition]) -> list[tuple[str, str]]:
    """(key path, message) of what the definitions get wrong together: a built-in's name, a topic used twice."""
    problems = [(f"channels.custom.{name}", f"{name} is a built-in channel: pick another name") for name in custom if name in CHANNELS]
    owners: dict[str, str] = {}
    for name, definition in custom.items():
        if definition.topic in owners:
            problems.append((f"channels.custom.{name}.topic", f"{definition.topic} is {owners[definition.topic]}'s topic already"))
        owners.setdefault(definition.topic, name)
    return problems
