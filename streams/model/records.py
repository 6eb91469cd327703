"""The outbound records: triggers (stage entries), message commands for sender services, skips and outcomes.

Both carry deterministic ids derived from what they are about, never from when or where they
were produced: the pipeline is at-least-once, so the same trigger or command may be published
twice after a crash or rebalance, and downstream senders de-duplicate on the id.  The payload
is deterministic too (no wall-clock "created" stamp), so a replay reproduces it byte for byte.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from hashlib import sha1
from typing import Annotated, Literal, Union

import msgspec

from streams.model.events import ChannelName, EngagementAction, FeedbackReason, Identifier, ShortText, Timestamp

DEFAULT_VARIANT = "default"  # the variant of a campaign that has no A/B variants
Stage = Literal["active", "reactivation", "winback", "sunset"]
TriggerStage = Literal["reactivation", "winback", "sunset"]
# The lifecycle in order; ``CustomerActivity.stage`` is an index into STAGES (0: active).
STAGES: tuple[Stage, ...] = ("active", "reactivation", "winback", "sunset")
TRIGGER_STAGES: tuple[TriggerStage, ...] = ("reactivation", "winback", "sunset")  # the stages a lapse enters
# What started a stage: the customer's inactivity reached its threshold, or the policy's predictive
# trigger brought it forward (the churn model's P(alive) fell below ``predictive.enter_winback_below``).
TriggerReason = Literal["threshold", "predictive"]


def trigger_stage(code: int) -> TriggerStage:
    """The lapse stage a ``CustomerActivity.stage`` code stands for (1, 2 or 3; 0 is active)."""
    return TRIGGER_STAGES[code - 1]


# Fixed namespace so ids are stable across versions, processes and languages (UUIDv5).
ID_NAMESPACE = uuid.UUID("6f1d3a52-57a8-4f0e-9a8e-2f3b1c7d9e10")
_SEP = "\x1f"  # unit separator: cannot occur in an Identifier, so parts never run together


_NAMESPACE_BYTES = ID_NAMESPACE.bytes
# The RFC 4122 variant bits (10xx) applied to the hex digit that carries them.
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 0b11] for digit in "0123456789abcdef"}


def deterministic_id(*parts: object) -> str:
    """A UUIDv5 over the parts: same parts, same id, in every process and every replay.

    Exactly ``str(uuid.uuid5(ID_NAMESPACE, name))``, formatted straight from the SHA-1 hex
    digest (version digit 5, variant bits set) instead of through ``uuid.UUID``: a backtest
    makes hundreds of thousands of ids and this is about 2.5 times faster.
    """
    digest = sha1(_NAMESPACE_BYTES + _SEP.join(map(str, parts)).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{_VARIANT_DIGIT[digest[16]]}{digest[17:20]}-{digest[20:32]}"


def command_id(customer_id: str, campaign: str, step: int, episode: int) -> str:
    """The de-duplication key of one message: this customer, campaign step and lapse episode."""
    return deterministic_id("command", customer_id, campaign, step, episode)


def trigger_id(customer_id: str, stage: str, episode: int) -> str:
    """The de-duplication key of one stage entry."""
    return deterministic_id("trigger", customer_id, stage, episode)


class Offer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The incentive attached to a step."""

    percent_off: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None
    free_shipping: bool = False


class DirectMail(msgspec.Struct, frozen=True, kw_only=True, tag="direct_mail", tag_field="kind"):
    """A printed piece: the print house looks the postal address up by ``customer_id`` (the stream
    holds no addresses)."""

    format: Literal["letter", "postcard", "catalog"] = "letter"
    mail_class: Literal["standard", "first_class"] = "standard"


class Audience(msgspec.Struct, frozen=True, kw_only=True, tag="audience", tag_field="kind"):
    """Add the customer to, or remove them from, a paid-ads audience."""

    audience_id: ShortText
    action: Literal["add", "remove"] = "add"


class InApp(msgspec.Struct, frozen=True, kw_only=True, tag="in_app", tag_field="kind"):
    """A message shown inside the shop's app or site, at ``placement``."""

    placement: ShortText = "inbox"


class Webhook(msgspec.Struct, frozen=True, kw_only=True, tag="webhook", tag_field="kind"):
    """A call the sender makes to the shop's own system."""

    url: Annotated[str, msgspec.Meta(max_length=2000, pattern=r"^https://[^\s]+$")]
    method: Literal["POST", "PUT"] = "POST"


# What a command on a channel of that kind carries besides the common fields (email, SMS and push: nothing).
ChannelPayload = Union[DirectMail, Audience, InApp, Webhook]


class Personalisation(msgspec.Struct, frozen=True, kw_only=True):
    """What a template may use to speak to this customer."""

    days_inactive: Annotated[int, msgspec.Meta(ge=0)]
    purchase_count: Annotated[int, msgspec.Meta(ge=0)]
    total_spend: Annotated[float, msgspec.Meta(ge=0)]
    last_purchase_at: Timestamp | None = None
    last_purchase_category: ShortText | None = None
    top_categories: list[ShortText] = []
    value_tier: ShortText | None = None
    locale: ShortText | None = None


class Trigger(msgspec.Struct, frozen=True, kw_only=True):
    """A customer entered a lapse stage: the audit record of why a campaign started.

    ``reason``: ``threshold`` (their inactivity reached the stage's) or ``predictive`` (the
    policy's predictive trigger started it sooner); ``p_alive``: the churn model's P(alive) at
    ``fired_at``, given only when the policy has a predictive model and the customer has bought.
    """

    trigger_id: str
    customer_id: Identifier
    stage: TriggerStage
    campaign: ShortText
    episode: Annotated[int, msgspec.Meta(ge=0)]
    fired_at: Timestamp
    last_activity_at: Timestamp
    days_inactive: Annotated[int, msgspec.Meta(ge=0)]
    variant: ShortText = DEFAULT_VARIANT
    holdout: bool = False
    reason: TriggerReason = "threshold"
    p_alive: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None

    @property
    def id(self) -> str:
        return self.trigger_id


CommandAction = Literal["send", "cancel"]


class MessageCommand(msgspec.Struct, frozen=True, kw_only=True):
    """One message for a sender service to deliver on ``channel``, or (``action: cancel``) not to.

    Senders must not deliver before ``send_after`` nor after ``expires_at``, and must treat a
    second command with the same ``command_id`` as a duplicate.  A cancel names a step of a
    series that a late event retracted (``Retraction``): drop a queued send with that
    ``command_id`` and never deliver one that comes later; a cancel of a message already
    delivered is a no-op.  A cancel's window is empty (``expires_at`` is ``send_after``, the
    moment of the retraction), so a sender that predates ``action`` finds it expired.
    ``payload`` is what a channel of a policy's own kind needs (``kind``: direct_mail, audience,
    in_app or webhook); an audience command with action ``remove`` takes the customer out of the
    audience again.
    """

    command_id: str
    customer_id: Identifier
    channel: ChannelName
    campaign: ShortText
    stage: TriggerStage
    step: Annotated[int, msgspec.Meta(ge=0, description="0-based index of the step in the campaign.")]
    episode: Annotated[int, msgspec.Meta(ge=0, description="Which lapse of this customer the series belongs to.")]
    template: ShortText
    offer: Offer | None = None
    personalisation: Personalisation
    due_at: Timestamp
    send_after: Timestamp
    expires_at: Timestamp
    variant: ShortText = DEFAULT_VARIANT
    feedback_request: bool = False  # the template should ask why the customer stopped buying
    survey_link: str | None = None  # a feedback request's survey URL (policy ``survey_url``, placeholders filled)
    action: CommandAction = "send"
    payload: ChannelPayload | None = None  # the channel kind's own part (``kind`` says which)

    @property
    def id(self) -> str:
        return self.command_id

    @property
    def removes(self) -> bool:
        """Whether this takes the customer out of an ads audience rather than sending them something."""
        return type(self.payload) is Audience and self.payload.action == "remove"


SkipReason = Literal[
    "capped", "quiet_hours", "no_consent", "no_channel", "holdout", "sunset", "expired", "caught_up", "send_time"
]
SKIP_REASONS: tuple[SkipReason, ...] = (
    "capped", "quiet_hours", "no_consent", "no_channel", "holdout", "sunset", "expired", "caught_up", "send_time"
)
SkipAction = Literal["skipped", "deferred", "fallback", "held_out"]


class Skip(msgspec.Struct, frozen=True, kw_only=True):
    """A step that was not sent as planned, and why: never silent.

    ``action`` says what happened instead: ``skipped`` (no message), ``deferred`` (sent later,
    at ``deferred_to``), ``fallback`` (sent on ``channel`` instead of ``planned_channel``) or
    ``held_out`` (the customer is in the campaign's holdout: this is what would have been sent).
    Reason ``caught_up``: the step's time passed while nobody was looking (a worker down for
    months, a backfilled history) and, with ``catch_up: latest``, the customer has since moved
    on to a later stage, or the message expired before they were caught up with.  Reason
    ``send_time``: deferred to the customer's habitual hour (policy ``send_time: habitual``).
    """

    skip_id: str
    customer_id: Identifier
    campaign: ShortText
    stage: TriggerStage
    step: Annotated[int, msgspec.Meta(ge=0)]
    episode: Annotated[int, msgspec.Meta(ge=0)]
    command_id: str
    reason: SkipReason
    action: SkipAction
    planned_channel: ChannelName
    channel: ChannelName | None = None
    template: ShortText
    variant: ShortText = DEFAULT_VARIANT
    due_at: Timestamp
    decided_at: Timestamp
    deferred_to: Timestamp | None = None

    @property
    def id(self) -> str:
        return self.skip_id


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """A conversion: the customer bought within the attribution window of a campaign's touch."""

    outcome_id: str
    customer_id: Identifier
    campaign: ShortText
    stage: TriggerStage
    episode: Annotated[int, msgspec.Meta(ge=0)]
    variant: ShortText = DEFAULT_VARIANT
    holdout: bool
    trigger_id: str
    touched_at: Timestamp
    converted_at: Timestamp
    order_id: Identifier
    revenue: Annotated[float, msgspec.Meta(ge=0)]
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    days_to_return: Annotated[int, msgspec.Meta(ge=0, description="Whole days from the touch to the purchase.")]
    # The campaign's latest message sent before the purchase (none for the holdout, or when no
    # step went out): the step, channel and incentive the conversion is credited to.
    command_id: str | None = None
    step: Annotated[int, msgspec.Meta(ge=0)] | None = None
    channel: ChannelName | None = None
    offer: Offer | None = None  # the incentive that message carried
    value_tier: ShortText | None = None  # the customer's value tier when it was sent
    discount_code: ShortText | None = None  # the code the order redeemed: with ``offer``, the incentive was used

    @property
    def id(self) -> str:
        return self.outcome_id


class Engagement(msgspec.Struct, frozen=True, kw_only=True):
    """What a customer did with one of the campaign's messages (the email event whose
    ``message_id`` is the command's id), credited to that message's campaign, step, variant and
    channel.  At most one per message and action: a second open of the same email is not a
    second engagement, so rates count customers' messages, not clicks.  A feedback answer to
    the message is the action ``feedback`` with its ``reason`` (never the customer's comment)."""

    engagement_id: str
    customer_id: Identifier
    command_id: str
    campaign: ShortText
    stage: TriggerStage
    step: Annotated[int, msgspec.Meta(ge=0)]
    episode: Annotated[int, msgspec.Meta(ge=0)]
    variant: ShortText = DEFAULT_VARIANT
    channel: ChannelName
    action: EngagementAction
    sent_at: Timestamp
    occurred_at: Timestamp
    reason: FeedbackReason | None = None  # a feedback answer's reason

    @property
    def id(self) -> str:
        return self.engagement_id


class Erased(msgspec.Struct, frozen=True, kw_only=True):
    """The shop erased a customer: their state is gone, their series ended, nothing more goes out.

    The audit record of it, on the outcomes topic, holds nothing personal: the id the shop
    erased, when, and the lifecycle position whose campaign the erasure ended.
    """

    erasure_id: str
    customer_id: Identifier
    erased_at: Timestamp
    stage: Stage
    episode: Annotated[int, msgspec.Meta(ge=0)]

    @property
    def id(self) -> str:
        return self.erasure_id


class SentInError(msgspec.Struct, frozen=True, kw_only=True):
    """A message of the retracted lapse that went out after the late event, before the retraction
    (of the retracted stage's campaign, or of an earlier stage's): it cannot be unsent."""

    command_id: str
    campaign: ShortText
    step: Annotated[int, msgspec.Meta(ge=0)]
    variant: ShortText = DEFAULT_VARIANT
    channel: ChannelName
    sent_at: Timestamp


class Retraction(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome ``retracted``: a trigger withdrawn because an event that would have prevented
    it (a purchase made before the win-back mail but ingested after it) arrived after it fired.

    On the outcomes topic, one per trigger withdrawn: every trigger of the lapse fired after the
    late event.  ``cancelled``: the command ids of the series' steps not sent yet (the latest
    trigger's), each also published as a cancel command on its channel's topic;
    ``sent_in_error``: the messages of its stage that had gone out since the late event (the
    earliest retraction's also those of stages whose triggers stand), as many as the worker
    remembers: the latest four within the attribution window.  The customer is back in
    ``restored_stage`` from the late event's time, in a new episode.
    """

    retraction_id: str
    customer_id: Identifier
    outcome: Literal["retracted"] = "retracted"
    trigger_id: str
    campaign: ShortText
    stage: TriggerStage
    episode: Annotated[int, msgspec.Meta(ge=0)]
    variant: ShortText = DEFAULT_VARIANT
    holdout: bool
    fired_at: Timestamp
    late_event_type: ShortText
    late_event_id: Identifier
    late_event_at: Timestamp
    retracted_at: Timestamp
    restored_stage: Stage
    cancelled: list[str] = []
    sent_in_error: list[SentInError] = []

    @property
    def id(self) -> str:
        return self.retraction_id


def retraction_id(trigger: str) -> str:
    """The de-duplication key of a retraction: at most one per trigger."""
    return deterministic_id("retraction", trigger)


def erasure_id(customer_id: str, erased_at: float) -> str:
    """The de-duplication key of an erasure: one per customer and erasure time."""
    return deterministic_id("erasure", customer_id, repr(erased_at))


def engagement_id(command: str, action: str) -> str:
    """The de-duplication key of an engagement: one per message and action."""
    return deterministic_id("engagement", command, action)


def removal_id(command: str) -> str:
    """The de-duplication key of the command that takes a customer out of the audience ``command`` added them to."""
    return deterministic_id("audience-removal", command)


def skip_id(command: str, action: str, reason: str, decided_at: float) -> str:
    """The de-duplication key of one decision about one planned message (made at ``decided_at``)."""
    return deterministic_id("skip", command, action, reason, repr(decided_at))


def outcome_id(customer_id: str, campaign: str, episode: int) -> str:
    """The de-duplication key of a conversion: at most one per customer, campaign and lapse."""
    return deterministic_id("outcome", customer_id, campaign, episode)


def to_datetime(epoch_seconds: float) -> datetime:
    """Engine time (float seconds since the epoch, UTC) as an aware datetime for records."""
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)


Record = Union[Trigger, MessageCommand, Skip, Outcome, Engagement, Erased, Retraction]  # every record the engine decides


class CustomerStage(msgspec.Struct, frozen=True, kw_only=True):
    """Where a customer is in the lifecycle now: the value of their key on the compacted
    customer-stage topic, for other services (a CRM, ads audiences, a support tool) to read
    instead of asking this one.  Published whenever a field changes; an erasure is a tombstone.

    ``campaign``, ``variant`` and ``holdout`` are the customer's group in the campaign of their
    stage (None in a stage without a campaign); ``next_stage`` and ``next_transition_at`` say
    which stage they enter, and when, if nothing happens before (None: none ahead).
    """

    customer_id: Identifier
    stage: Stage
    since: Timestamp | None  # None: the state predates the stage clock (a customer never seen active)
    episode: Annotated[int, msgspec.Meta(ge=0)]
    tier: ShortText | None = None
    campaign: ShortText | None = None
    variant: ShortText | None = None
    holdout: bool | None = None
    next_stage: Stage | None = None
    next_transition_at: Timestamp | None = None
