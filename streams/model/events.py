"""The inbound events: purchases, logins, email engagement and feedback answers.

These ``msgspec`` structs are the single source of truth for what a valid event is: the
JSON Schemas in ``schemas/`` are generated from them (``winback schemas export``) and a test
fails when the two drift.  msgspec decodes and validates in one pass straight from bytes,
about twice as fast as pydantic on these records, which the backtest's throughput needs.

On a Kafka topic the topic says what an event is, so ``type`` may be omitted; in a backtest
file each line carries ``type`` (``purchase``, ``login``, ``email`` or ``feedback``).  The
email-engagement topic also carries feedback answers, which must say ``type: feedback``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Union

import msgspec

# Identifiers are opaque strings, but never empty, huge or carrying control characters
# (they become Kafka keys, table keys and parts of command ids).
Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
# RFC 3339 with an explicit offset: a naive local time is ambiguous across time zones.
Timestamp = Annotated[
    datetime,
    msgspec.Meta(
        tz=True,
        description="RFC 3339 date-time with a UTC offset (Z or +hh:mm).",
        extra_json_schema={"pattern": r"(Z|z|[+-]\d{2}:\d{2})$"},
    ),
]
Amount = Annotated[float, msgspec.Meta(ge=0, le=1e12, description="Order value in `currency`, >= 0.")]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 alphabetic code.")]
Categories = Annotated[list[ShortText], msgspec.Meta(max_length=32)]

Channel = Literal["email", "sms", "push"]  # the built-in channels (a policy may define more)
CHANNELS: tuple[Channel, ...] = ("email", "sms", "push")
# Any channel's name: a built-in or one the policy defines (``channels.custom``).
ChannelName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="A channel: email, sms, push or one the policy defines.")]
# What a profile says a customer can be reached on and agreed to: each channel of a policy has one
# of these as its consent field (the built-ins their own name).
ConsentField = Literal["email", "sms", "push", "postal", "ads", "in_app", "webhook"]
CONSENT_FIELDS: tuple[ConsentField, ...] = ("email", "sms", "push", "postal", "ads", "in_app", "webhook")
Locale = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$", max_length=35)]
EmailAction = Literal["delivered", "open", "click", "unsubscribe", "bounce", "complaint"]
EngagementAction = Literal[EmailAction, "feedback"]  # what an engagement record says the customer did
FeedbackReason = Literal[
    "price", "quality", "delivery", "found_elsewhere", "no_longer_needed", "too_many_messages", "other"
]
# Free text the customer typed: personal data, counted but never copied to any output record.
Comment = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]+$")]
EVENT_TYPES = ("purchase", "login", "email", "profile")


class Event(msgspec.Struct, tag_field="type", kw_only=True, frozen=True):
    """Fields every event carries."""

    event_id: Identifier
    customer_id: Identifier
    occurred_at: Timestamp


class Purchase(Event, tag="purchase", frozen=True):
    """An order placed by the customer: the strongest sign of activity."""

    order_id: Identifier
    amount: Amount
    currency: Currency
    categories: Categories = []
    discount_code: ShortText | None = None  # the incentive the order redeemed, if any


class Login(Event, tag="login", frozen=True):
    """The customer signed in on a web or app platform."""

    platform: ShortText | None = None


class EmailEngagement(Event, tag="email", frozen=True):
    """What happened to an email we (or another system) sent the customer."""

    action: EmailAction
    campaign_id: Identifier | None = None
    message_id: Identifier | None = None


class Feedback(Event, tag="feedback", frozen=True):
    """The customer's answer to a feedback step's survey: why they stopped buying.

    ``message_id`` is the command that carried the survey link, so the answer is credited to
    that message's campaign, step and variant.  Not activity unless the policy says so.
    """

    message_id: Identifier
    reason: FeedbackReason
    comment: Comment | None = None


class Profile(msgspec.Struct, tag="profile", tag_field="type", kw_only=True, frozen=True):
    """A customer's profile from the CRM (compacted topic): how and when they may be contacted.

    Not an activity event: it never postpones or ends a lapse.  Profiles are snapshots, so the
    newest ``updated_at`` wins (of two with the same one, the later, as compaction keeps) and an
    older one arriving late changes nothing, so a redelivery needs no dedupe by id.  A profile
    has no event id of its own; ``event_id`` derives one from its time, which orders it among
    the customer's events (time, event id) like any other.
    """

    customer_id: Identifier
    updated_at: Timestamp
    reachable: list[ConsentField] = []  # what the customer has an address/number/token/id for
    consent: list[ConsentField] = []  # what the customer agreed to receive marketing on
    preferred_channel: ConsentField | None = None
    time_zone: ShortText | None = None  # IANA name; checked by the codec
    locale: Locale | None = None

    @property
    def occurred_at(self) -> datetime:
        return self.updated_at

    @property
    def event_id(self) -> str:
        return f"profile:{self.customer_id}@{self.updated_at.isoformat()}"


class Erasure(msgspec.Struct, tag="erasure", tag_field="type", kw_only=True, frozen=True):
    """The shop erased the customer: forget everything about them, send them nothing more.

    On Kafka it is a tombstone on the profiles topic (the customer's id as key, no value), dated
    by the record's timestamp; in a backtest file a line ``{"type": "erasure", "customer_id":
    ..., "erased_at": ...}``.  Like a profile it derives its ``event_id`` from its time.
    """

    customer_id: Identifier
    erased_at: Timestamp

    @property
    def occurred_at(self) -> datetime:
        return self.erased_at

    @property
    def event_id(self) -> str:
        return f"erasure:{self.customer_id}@{self.erased_at.isoformat()}"


AnyEvent = Union[Purchase, Login, EmailEngagement, Feedback]
AnyInput = Union[Purchase, Login, EmailEngagement, Feedback, Profile, Erasure]  # what the customer agent applies
EVENT_CLASSES: dict[str, type] = {"purchase": Purchase, "login": Login, "email": EmailEngagement, "profile": Profile}


def topic_kind(event: AnyInput) -> str:
    """Which input topic (``EVENT_TYPES``) carries the event: its type's, and the
    email-engagement topic for a feedback answer (``erasure``: a tombstone on the profiles topic)."""
    return "email" if type(event) is Feedback else str(event.__struct_config__.tag)


def encode_event(event: AnyInput) -> bytes:
    """Serialize an event as JSON including its ``type`` (the backtest-file line form)."""
    return msgspec.json.encode(event)
