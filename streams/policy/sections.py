"""The campaign policy: what counts as activity, when each lapse stage starts, what its campaign sends.

A policy is a YAML file that marketers edit, so its sections are validated strictly: unknown
keys are rejected, and cross-field mistakes that would silently never fire (thresholds out of
order, a step that starts after the next stage) are errors, not surprises in production.
Reading a file is ``streams.policy.loading``'s part, wording the problems ``streams.policy.messages``'.

The layout is sectioned so later features slot in without changing today's form: global
sections at the top (``activity``, ``stages``, ``campaigns``; caps, quiet hours or holdouts
become new sections), and per-campaign settings inside each campaign, which steps may
override (``expires_after_days`` already works that way).  See ``docs/policy.md``.
"""

from __future__ import annotations

import math
from datetime import time
from string import Formatter
from urllib.parse import urlsplit
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from streams.model.events import CHANNELS
from streams.model.records import TRIGGER_STAGES, Offer, TriggerStage
from streams.model.time_zones import is_time_zone
from streams.policy.base import Section as _Section
from streams.policy.channels import ChannelDefinition, ChannelName, definition_problems
from streams.policy.messages import as_days, did_you_mean
from streams.policy.send_time import SendTime, SendTimeMode

Signal = Literal["purchase", "login", "email_open", "email_click"]
# What happens to a customer found past several thresholds at once (a worker down for months,
# a backfilled history): ``latest`` enters only the stage they are in by then, ``all`` enters
# every stage in turn, as history happened (see ``streams.core.engine``).
CatchUp = Literal["latest", "all"]
# Opens are left out by default: mail privacy proxies (Apple MPP) pre-fetch images, so an
# "open" often means the customer's mail app was online, not that the customer was.
DEFAULT_SIGNALS: tuple[Signal, ...] = ("purchase", "login", "email_click")
DEFAULT_EXPIRES_AFTER_DAYS = 3.0
# A hundred years: longer than any campaign can mean, and short enough that every time the engine
# adds days to (an event's, within the years 1-9999) stays a date it can write.
MAX_DAYS = 36_525.0
Days = Annotated[float, Field(gt=0, le=MAX_DAYS, allow_inf_nan=False)]
Template = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
Name = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


def _clock_time(value: Any) -> time:
    """``"21:00"``, or the integer YAML 1.1 makes of an unquoted ``21:00`` (base 60: 1260 minutes)."""
    if isinstance(value, int) and not isinstance(value, bool) and 24 <= value < 24 * 60:
        return time(value // 60, value % 60)
    if isinstance(value, str):
        hours, _, minutes = value.partition(":")
        if hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and int(hours) < 24 and int(minutes) < 60:
            return time(int(hours), int(minutes))
    raise PydanticCustomError("clock_time", "expected a time of day as HH:MM, e.g. \"21:00\"")


def _known_time_zone(name: str) -> str:
    if not is_time_zone(name):
        raise PydanticCustomError("time_zone", "{name} is not an IANA time zone (e.g. Europe/Berlin)", {"name": name})
    return name


ClockTime = Annotated[time, BeforeValidator(_clock_time)]
TimeZoneName = Annotated[str, AfterValidator(_known_time_zone)]
# What a survey URL may say in braces; the command id is required, so answers can be credited.
SURVEY_PLACEHOLDERS = ("command_id", "campaign", "step", "variant")


def _survey_url(url: str) -> str:
    """An https URL to a survey whose ``{...}`` placeholders are all known and include ``{command_id}``."""
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in Formatter().parse(url) if name is not None]
    except ValueError:
        raise PydanticCustomError("survey_url", "unbalanced braces: write placeholders as {command_id}") from None
    unknown = sorted({name or "{}" for name, spec, conversion in fields if name not in SURVEY_PLACEHOLDERS or spec or conversion})
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in SURVEY_PLACEHOLDERS)
        raise PydanticCustomError("survey_url", "unknown placeholder {unknown}; known: {known}", {"unknown": ", ".join(unknown), "known": known})
    if "command_id" not in {name for name, _, _ in fields}:
        raise PydanticCustomError("survey_url", "needs {command_id}, so an answer can be credited to its message")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or any(character.isspace() or not character.isprintable() for character in url):
        raise PydanticCustomError("survey_url", "expected an https URL without spaces, e.g. https://shop.example/why?m={command_id}")
    return url


SurveyUrl = Annotated[str, Field(max_length=2000), AfterValidator(_survey_url)]


class ActivitySignals(_Section):
    """Which events count as activity: they postpone lapsing and end a running lapse."""

    signals: list[Signal] = Field(default_factory=lambda: list(DEFAULT_SIGNALS), min_length=1)

    @field_validator("signals")
    @classmethod
    def _no_repeats(cls, signals: list[Signal]) -> list[Signal]:
        repeated = sorted({signal for signal in signals if signals.count(signal) > 1})
        if repeated:
            raise PydanticCustomError("repeated", "{signals} listed more than once", {"signals": ", ".join(repeated)})
        return signals


class Threshold(_Section):
    """Days of inactivity after which a stage starts: fixed, or adaptive to the customer's cadence.

    Fixed: ``30`` or ``{days: 30}``.  Adaptive: ``{min_days: 21, cadence_multiplier: 3,
    max_days: 120}`` means ``min(max_days, max(min_days, 3 x the customer's purchase cadence))``
    rounded up to whole days, and ``min_days`` while the cadence is still unknown; without
    ``max_days`` at most ``MAX_DAYS``.  Adaptive
    thresholds suit shops whose customers buy at very different rhythms.
    """

    days: Days | None = None
    min_days: Days | None = None
    cadence_multiplier: Days | None = None
    max_days: Days | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_number_means_days(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return {"days": value}
        if not isinstance(value, dict):
            raise PydanticCustomError(
                "threshold_type", "expected a number of days, or a mapping with days or min_days/cadence_multiplier"
            )
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Threshold:
        adaptive_keys = (self.min_days, self.cadence_multiplier, self.max_days)
        if self.days is not None and any(key is not None for key in adaptive_keys):
            raise PydanticCustomError(
                "threshold_form", "give either days (fixed) or min_days with cadence_multiplier (adaptive), not both"
            )
        if self.days is None and (self.min_days is None or self.cadence_multiplier is None):
            raise PydanticCustomError("threshold_form", "an adaptive threshold needs both min_days and cadence_multiplier")
        if self.max_days is not None and self.min_days is not None and self.max_days < self.min_days:
            raise PydanticCustomError("threshold_form", "max_days is smaller than min_days")
        return self

    @property
    def adaptive(self) -> bool:
        return self.days is None

    @property
    def earliest_days(self) -> float:
        """The shortest this threshold can be, for any customer."""
        if self.days is not None:
            return self.days
        assert self.min_days is not None  # an adaptive threshold has one (_one_form)
        return self.min_days

    def days_for(self, cadence_days: float | None) -> float:
        """The threshold in days for a customer whose purchase cadence is ``cadence_days`` (None: unknown)."""
        if self.days is not None:
            return self.days
        low = self.min_days or 0.0
        if cadence_days is None:
            return low
        assert self.cadence_multiplier is not None  # an adaptive threshold has one (_one_form)
        days = max(low, math.ceil(self.cadence_multiplier * cadence_days))
        return min(days, self.max_days if self.max_days is not None else MAX_DAYS)


class Stages(_Section):
    """Lapse stages in order; a stage left out is skipped (at least one is needed)."""

    reactivation: Threshold | None = None
    winback: Threshold | None = None
    sunset: Threshold | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> Stages:
        if not self.configured():
            raise PydanticCustomError("no_stages", "configure at least one of reactivation, winback, sunset")
        return self

    def configured(self) -> list[tuple[TriggerStage, Threshold]]:
        """(stage, threshold) of the stages in use, in lifecycle order."""
        return [(stage, threshold) for stage in TRIGGER_STAGES if (threshold := getattr(self, stage)) is not None]


class OfferTerms(_Section):
    """The incentive a step carries (mirrors ``streams.model.records.Offer``)."""

    percent_off: int | None = Field(None, ge=1, le=100)
    free_shipping: bool = False

    def to_offer(self) -> Offer:
        return Offer(percent_off=self.percent_off, free_shipping=self.free_shipping)


class Cap(_Section):
    """At most ``messages`` in any rolling ``per_days`` window (on one ``channel``, or on all)."""

    messages: int = Field(ge=1, le=1000)
    per_days: Days
    channel: ChannelName | None = None


class Caps(_Section):
    """Frequency caps across every campaign, and what happens to a step that would break one.

    ``defer`` moves the step to the earliest time every cap allows, as long as the message is
    still worth sending then (its expiry); otherwise, and always with ``skip``, the step is
    skipped with the reason recorded.
    """

    limits: list[Cap] = Field(default_factory=list)
    when_capped: Literal["defer", "skip"] = "defer"


def _each_channel_once(names: list[str], why: str) -> list[str]:
    """``names`` if no channel is in it twice; else a policy error naming the first repeated, and ``why``."""
    twice = [name for index, name in enumerate(names) if name in names[:index]]
    if twice:
        raise PydanticCustomError("listed_twice", "{name} is listed twice: " + why, {"name": twice[0]})
    return names


class QuietHours(_Section):
    """No message may be sent between ``start`` and ``end`` in the customer's own time zone.

    The window may cross midnight (``21:00`` to ``08:00``).  Customers whose zone is unknown
    (no profile, no zone in it) are in ``default_time_zone``.
    """

    start: ClockTime
    end: ClockTime
    default_time_zone: TimeZoneName = "UTC"
    channels: list[ChannelName] = Field(default_factory=lambda: list[str](CHANNELS), min_length=1)

    @field_validator("channels")
    @classmethod
    def _each_once(cls, channels: list[str]) -> list[str]:
        return _each_channel_once(channels, "name each channel the window holds back once")

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise PydanticCustomError("quiet_hours", "start and end are the same time: the window would be empty")
        return self


class Channels(_Section):
    """Which channels a customer can be reached on, and where a step goes when its own is not allowed.

    A channel is allowed when the customer is reachable and consented on it (from their profile;
    ``without_profile`` until a profile arrives) and has not unsubscribed, complained or hard
    bounced there.  A step on a channel that is not allowed goes to the first allowed channel of
    ``fallback`` (the customer's preferred channel first, if it is allowed and listed);
    ``fallback: []`` skips such steps instead.  ``custom`` defines channels besides the three
    built-ins (``streams.policy.channels``); a channel's consent field stands for it in profiles.
    """

    fallback: list[ChannelName] = Field(default_factory=lambda: list[str](CHANNELS))
    without_profile: list[ChannelName] = Field(default_factory=lambda: list[str](CHANNELS))
    custom: dict[ChannelName, ChannelDefinition] = Field(default_factory=dict)

    @field_validator("fallback")
    @classmethod
    def _each_once(cls, fallback: list[str]) -> list[str]:
        return _each_channel_once(fallback, "each channel has one place in the order")

    def names(self) -> list[str]:
        """Every channel a step may use: the built-ins, then the policy's own in their order."""
        return [*CHANNELS, *self.custom]


class Tier(_Section):
    """A value tier: customers with at least this much spend and this many purchases (both optional)."""

    name: Name
    min_spend: float = Field(0.0, ge=0, allow_inf_nan=False)
    min_purchases: int = Field(0, ge=0)


class Attribution(_Section):
    """Which purchases count as a campaign's conversions.

    A purchase within ``window_days`` after the customer's latest ``trigger`` (or latest
    message, held-out ones included, with ``after: command``) converts, once per lapse.
    """

    window_days: Days = 14.0
    after: Literal["trigger", "command"] = "trigger"


CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Economics(_Section):
    """What messages and incentives cost, for the campaign KPIs' ROI (``streams.core.kpis``).

    ``currency`` is what ROI, costs and converted revenue are reported in; ``exchange_rates``
    says how much of it one unit of another currency is worth (revenue in a currency with no
    rate is reported as it is, and leaves ROI unknown).  ``send_costs`` is the cost of one
    message per channel; ``free_shipping_cost`` what one redeemed free-shipping offer costs.
    A redeemed percent-off offer costs that share of the order's amount.
    """

    currency: CurrencyCode | None = None
    exchange_rates: dict[CurrencyCode, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(default_factory=dict)
    send_costs: dict[ChannelName, Money] = Field(default_factory=dict)
    free_shipping_cost: Money = 0.0

    @model_validator(mode="after")
    def _priced_in_a_currency(self) -> Economics:
        if self.currency is None and (self.exchange_rates or any(self.send_costs.values()) or self.free_shipping_cost):
            raise PydanticCustomError("economics", "costs and exchange rates need a currency (e.g. currency: EUR)")
        return self

    def rate(self, currency: str) -> float | None:
        """What one unit of ``currency`` is worth in ``self.currency`` (None: unknown)."""
        return 1.0 if currency == self.currency else self.exchange_rates.get(currency)


class VariantStep(_Section):
    """What a variant changes in one step (anything left out is the step's own)."""

    template: Template | None = None
    offer: OfferTerms | None = None


class SeriesStep(_Section):
    """One message of a campaign, sent ``after_days`` after the stage started."""

    after_days: float = Field(ge=0, le=MAX_DAYS, allow_inf_nan=False)
    channel: ChannelName
    template: Template
    offer: OfferTerms | None = None
    offers_by_tier: dict[Name, OfferTerms] = Field(default_factory=dict)
    variants: dict[Name, VariantStep] = Field(default_factory=dict)
    expires_after_days: Days | None = None
    feedback_request: bool = False
    survey_url: SurveyUrl | None = None  # the feedback request's survey (else the campaign's)

    @model_validator(mode="after")
    def _survey_for_feedback(self) -> SeriesStep:
        if self.survey_url is not None and not self.feedback_request:
            raise PydanticCustomError("survey_url", "survey_url is for a step with feedback_request: true")
        return self


class Campaign(_Section):
    """The series a stage starts; settings here apply to every step unless the step overrides them.

    ``holdout`` is the share of customers who get no message from this campaign (their steps
    are recorded as held out, so lift can be measured); ``variants`` splits the others by
    weight.  Both are a stable hash of customer and campaign.
    """

    steps: list[SeriesStep] = Field(min_length=1)
    expires_after_days: Days = DEFAULT_EXPIRES_AFTER_DAYS
    holdout: float = Field(0.0, ge=0, lt=1, allow_inf_nan=False)
    variants: dict[Name, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(default_factory=dict)
    caps: list[Cap] = Field(default_factory=list)
    survey_url: SurveyUrl | None = None  # the survey of its steps with feedback_request: true
    send_time: SendTimeMode | None = None  # unset: the policy's send_time
    send_time_by_variant: dict[Name, SendTimeMode] = Field(default_factory=dict)  # per A/B variant, over send_time

    @model_validator(mode="after")
    def _timed_variants_exist(self) -> Campaign:
        unknown = [name for name in self.send_time_by_variant if name not in self.variants]
        if unknown:
            raise PydanticCustomError(
                "send_time", "send_time_by_variant: {name} is not one of this campaign's variants", {"name": unknown[0]}
            )
        return self

    def send_time_of(self, variant: str, default: SendTimeMode) -> SendTimeMode:
        """The send-time mode of ``variant``'s messages: its own, else the campaign's, else ``default``."""
        return self.send_time_by_variant.get(variant) or self.send_time or default

    def expiry_days(self, step: SeriesStep) -> float:
        """How long a step's message stays worth sending: the step's own setting, else the campaign's."""
        return step.expires_after_days if step.expires_after_days is not None else self.expires_after_days

    def survey(self, step: SeriesStep) -> str | None:
        """The survey URL template a step's feedback request links to: the step's own, else the campaign's."""
        if not step.feedback_request:
            return None
        return step.survey_url if step.survey_url is not None else self.survey_url


class ChurnModel(_Section):
    """A fitted BG/NBD model's parameters (``winback model fit`` writes them to a file, which
    ``predictive.model`` names; they may be given inline too), times in ``time_unit_days``."""

    r: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    alpha: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    a: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    b: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    time_unit_days: Days = 1.0


class Predictive(_Section):
    """The predictive trigger: a customer enters win-back once the model's probability that they
    are still a customer (P(alive), from their purchases) drops below ``enter_winback_below``
    after their last activity, or at the winback threshold, whichever comes first."""

    model: ChurnModel
    enter_winback_below: float = Field(gt=0, lt=1, allow_inf_nan=False)


class LateEvents(_Section):
    """How late an event may arrive and still retract a trigger it would have prevented.

    An activity event (a purchase made before the win-back mail but ingested after it) applied
    within ``retract_within_days`` of its own time retracts the trigger (``streams.core.retraction``);
    one later than that is applied as it is, without retraction.
    """

    retract_within_days: Days


class Policy(_Section):
    """A whole policy file."""

    activity: ActivitySignals = ActivitySignals()
    stages: Stages
    caps: Caps = Caps()
    quiet_hours: QuietHours | None = None
    channels: Channels = Channels()
    tiers: list[Tier] = Field(default_factory=list)
    attribution: Attribution = Attribution()
    economics: Economics = Economics()
    campaigns: dict[str, Campaign] = {}
    catch_up: CatchUp | None = None  # unset: the caller's default (latest on the wall clock, else all)
    predictive: Predictive | None = None
    late_events: LateEvents | None = None  # unset: a late event never retracts a trigger
    send_time: SendTime = SendTime()

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        problems = self.conflicts()
        if problems:
            summary = "; ".join(f"{path}: {message}" for path, message in problems)
            raise PydanticCustomError("policy_conflict", "{summary}", {"summary": summary, "problems": problems})
        return self

    def conflicts(self) -> list[tuple[str, str]]:
        """Cross-field problems as (key path, message): things each section alone cannot see."""
        return [
            *self._threshold_order(),
            *self._campaign_names(),
            *self._step_order(),
            *self._tier_names(),
            *self._variant_names(),
            *self._predictive_stage(),
            *definition_problems(self.channels.custom),
            *self._channel_names(),
        ]

    def _channel_names(self) -> list[tuple[str, str]]:
        """Every place that names a channel names one the policy has."""
        known = self.channels.names()
        named = [
            *((f"channels.fallback[{index}]", name) for index, name in enumerate(self.channels.fallback)),
            *((f"channels.without_profile[{index}]", name) for index, name in enumerate(self.channels.without_profile)),
            *((f"caps.limits[{index}].channel", cap.channel) for index, cap in enumerate(self.caps.limits)),
            *((f"economics.send_costs.{name}", name) for name in self.economics.send_costs),
        ]
        if self.quiet_hours is not None:
            named += [(f"quiet_hours.channels[{index}]", name) for index, name in enumerate(self.quiet_hours.channels)]
        for campaign_name, campaign in self.campaigns.items():
            named += [(f"campaigns.{campaign_name}.steps[{index}].channel", step.channel) for index, step in enumerate(campaign.steps)]
            named += [(f"campaigns.{campaign_name}.caps[{index}].channel", cap.channel) for index, cap in enumerate(campaign.caps)]
        return [
            (where, f"no such channel: {name} is neither built in nor under channels.custom{did_you_mean(name, known)}")
            for where, name in named
            if name is not None and name not in known
        ]

    def _predictive_stage(self) -> list[tuple[str, str]]:
        if self.predictive is not None and self.stages.winback is None:
            return [("predictive", "the predictive trigger enters win-back: configure stages.winback")]
        return []

    def _threshold_order(self) -> list[tuple[str, str]]:
        configured = self.stages.configured()
        return [
            (f"stages.{later}", f"must start after {earlier} ({as_days(b.earliest_days)} is not more than {as_days(a.earliest_days)})")
            for (earlier, a), (later, b) in zip(configured, configured[1:])
            if b.earliest_days <= a.earliest_days
        ]

    def _campaign_names(self) -> list[tuple[str, str]]:
        problems = []
        configured = [stage for stage, _ in self.stages.configured()]
        for name in self.campaigns:
            if name not in TRIGGER_STAGES:
                problems.append((f"campaigns.{name}", f"not a stage{did_you_mean(name, TRIGGER_STAGES)}"))
            elif name not in configured:
                problems.append((f"campaigns.{name}", f"stage {name} has no threshold under stages"))
            elif name == "sunset":
                problems.append(("campaigns.sunset", "sunset stops every message to the customer: it cannot have a campaign"))
        return problems

    def _tier_names(self) -> list[tuple[str, str]]:
        names = [tier.name for tier in self.tiers]
        problems = [(f"tiers[{index}].name", f"{name} is listed twice") for index, name in enumerate(names) if name in names[:index]]
        for campaign_name, campaign in self.campaigns.items():
            for index, step in enumerate(campaign.steps):
                for tier in step.offers_by_tier:
                    if tier not in names:
                        where = f"campaigns.{campaign_name}.steps[{index}].offers_by_tier.{tier}"
                        problems.append((where, f"no such tier under tiers{did_you_mean(tier, names)}"))
        return problems

    def _variant_names(self) -> list[tuple[str, str]]:
        problems = []
        for campaign_name, campaign in self.campaigns.items():
            for index, step in enumerate(campaign.steps):
                for variant in step.variants:
                    if variant not in campaign.variants:
                        where = f"campaigns.{campaign_name}.steps[{index}].variants.{variant}"
                        known = f"campaigns.{campaign_name}.variants"
                        problems.append((where, f"no such variant under {known}{did_you_mean(variant, campaign.variants)}"))
        return problems

    def _step_order(self) -> list[tuple[str, str]]:
        problems = []
        for name, campaign in self.campaigns.items():
            offsets = [step.after_days for step in campaign.steps]
            for index in range(1, len(offsets)):
                if offsets[index] < offsets[index - 1]:
                    problems.append(
                        (f"campaigns.{name}.steps[{index}].after_days", f"{as_days(offsets[index])} is earlier than the step before it")
                    )
            window = self.fixed_stage_length(name)
            late = [index for index, offset in enumerate(offsets) if window is not None and 0 < window <= offset]
            if late and window is not None:
                problems.append(
                    (
                        f"campaigns.{name}.steps[{late[0]}].after_days",
                        f"never sent: the next stage starts {as_days(window)} after {name}",
                    )
                )
        return problems

    def fixed_stage_length(self, stage: str) -> float | None:
        """Days from this stage's start to the next stage's, when both thresholds are fixed."""
        configured = dict(self.stages.configured())
        order = [name for name in TRIGGER_STAGES if name in configured]
        if stage not in order or stage == order[-1]:
            return None
        this, following = configured[stage], configured[order[order.index(stage) + 1]]
        if this.adaptive or following.adaptive:
            return None
        return following.earliest_days - this.earliest_days


def keys_at(place: tuple[int | str, ...]) -> list[str]:
    """The keys a mapping at ``place`` (a pydantic location) may hold, from the types of ``Policy``'s fields.

    Only these make sense as suggestions for an unknown key: ``offer`` is a step's key, not a
    campaign's.
    """
    annotation: Any = Policy
    for part in place:
        annotation = _inner(_unwrapped(annotation), part)
    model = _unwrapped(annotation)
    return list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []


def _unwrapped(annotation: Any) -> Any:
    """The type under ``Annotated[...]`` and ``... | None``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is UnionType:
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        else:
            return annotation


def _inner(container: Any, part: int | str) -> Any:
    """The type at ``part`` of a value of type ``container``: a model's field, a list's item, a dict's value."""
    if isinstance(container, type) and issubclass(container, BaseModel):
        field = container.model_fields.get(str(part))
        return field.annotation if field is not None else None
    origin = get_origin(container)
    if origin is list:
        return get_args(container)[0]
    if origin is dict:
        return get_args(container)[1]
    return None
