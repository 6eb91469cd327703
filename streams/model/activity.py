"""What we know about one customer's activity: the state kept per customer in the table.

One ``CustomerActivity`` per customer, updated by every event and stored as msgpack in a
(RocksDB-backed) table, so it is small (an array, not a map; times as floats; channels as bit
masks) and every update is idempotent under at-least-once delivery:

* an input record that was applied already changes nothing (``replayed``): the state keeps,
  per input partition the customer's events came from, how far its offsets are applied
  (``streams.model.positions``), so a replay of any prefix after a crash is recognised however
  long it is, and the state stays bounded by the number of input partitions;
* an event whose (kind, id) was seen recently changes nothing (``seen``): the shop sent the
  same event twice.  The window is the last ``RECENT_EVENTS`` events of this customer, kept as
  CRC-32 hashes.  The kind is part of the key (an email ``delivered`` and an ``unsubscribe``
  may share an id), and an opt-out is applied even when its key was seen: applying it again
  changes nothing, dropping it would keep mailing a customer who said no;
* a profile that withdraws consent wins a tie with the current one (``_record_profile``);
* "last" times only move forward, so an older event arriving late never makes a customer look
  less recently active than they are.

The lifecycle fields (stage, when it was entered, episode, next series step) are stored here
but interpreted by ``streams.core.lifecycle`` and ``streams.core.engine``, which know the policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import get_args
from zlib import crc32

import msgspec

from streams.model.events import CONSENT_FIELDS, AnyInput, EmailAction, EmailEngagement, EngagementAction, Login, Profile, Purchase
from streams.model.positions import Position

RECENT_EVENTS = 8  # dedupe window: this many of the customer's latest (kind, event id)s
CADENCE_GAPS = 5  # the cadence is the median of this many latest inter-purchase gaps
MIN_CADENCE_GAPS = 2  # fewer gaps than this: cadence unknown (one gap is an anecdote)
MAX_CATEGORIES = 8  # categories counted per customer; the rarest is forgotten beyond this
TOP_CATEGORIES = 3
# A time that has not happened: before every event time (history may start at the epoch
# itself, 0.0, so 0.0 cannot mean "never"), and "last" times only moving forward needs no
# special case.  States stored before this was so held 0.0: ``decode`` upgrades them.
NEVER = float("-inf")
STATE_FORMAT = 1  # 0: written when NEVER was 0.0 (events before 2000 were rejected then)
_NEVER_FIELDS = ("last_purchase", "last_login", "last_click", "last_open", "stage_entered_at", "profile_at", "deferred_to", "touch_at")
CHANNEL_BITS = {"email": 1, "sms": 2, "push": 4}  # the built-in channels' codes (a policy's own get 8, 16, ...)
# A profile's consent fields as bits of ``reachable``, ``consent``, ``unsubscribed``, ``bounced``
# and ``preferred_channel`` (the built-in channels' fields have their channels' bits).
CONSENT_BITS: dict[str, int] = {field: 1 << index for index, field in enumerate(CONSENT_FIELDS)}
# Which "last" field each activity signal of the policy reads.
SIGNAL_FIELDS = {
    "purchase": "last_purchase",
    "login": "last_login",
    "email_open": "last_open",
    "email_click": "last_click",
}
MAX_MESSAGES = 4  # messages remembered per customer for attribution (each about 10 bytes)
# A remembered message: [sent at (whole seconds), stage code, step index, episode, CHANNEL_BITS bit,
# value tier (1 + its index under the policy's tiers, 0: none), engagement already recorded (ACTION_BITS)].
SENT_AT, SENT_STAGE, SENT_STEP, SENT_EPISODE, SENT_CHANNEL, SENT_TIER, SENT_ENGAGED = range(7)
ACTION_BITS = {action: 1 << index for index, action in enumerate(get_args(EngagementAction))}
_OPT_OUT_ACTIONS = frozenset({"unsubscribe", "complaint"})


class CustomerActivity(msgspec.Struct, array_like=True, omit_defaults=True, gc=False):
    """One customer's activity facts plus their lifecycle position (times are epoch seconds, UTC)."""

    first_seen: float
    recent: list[int] = []  # hashes of the latest (kind, event id)s, oldest first
    last_purchase: float = NEVER
    last_login: float = NEVER
    last_click: float = NEVER
    last_open: float = NEVER
    purchase_count: int = 0
    total_spend: float = 0.0
    categories: dict[str, int] = {}  # category -> purchases that included it
    last_category: str | None = None  # first category of the latest purchase
    gaps: list[int] = []  # latest inter-purchase gaps in whole seconds, oldest first
    stage: int = 0  # index into streams.core.lifecycle.STAGES (0 = active)
    stage_entered_at: float = NEVER
    episode: int = 0  # lapse number: grows each time activity ends a lapse
    step: int = 0  # index of the next step of the current stage's campaign
    unsubscribed: int = 0  # CHANNEL_BITS the customer opted out of (unsubscribe, spam complaint)
    bounced: int = 0  # CHANNEL_BITS where delivery hard-failed
    # From the latest profile (``profile_at`` NEVER: no profile yet).
    profile_at: float = NEVER
    reachable: int = 0  # CONSENT_BITS the customer has an address, number, token or id for
    consent: int = 0  # CONSENT_BITS the customer agreed to marketing on
    preferred_channel: int = 0  # one CONSENT_BITS bit, 0 when none
    time_zone: str | None = None
    locale: str | None = None
    # Delivery of the current series.
    deferred_to: float = NEVER  # when the next step, held back by a cap or quiet hours, is due instead
    sends: list[tuple[int, int, int]] = []  # (send time, CHANNEL_BITS bit, stage) of recent messages, for caps
    # The latest campaign touch, for attributing a purchase to it (stage 0: none).
    touch_stage: int = 0
    touch_episode: int = 0
    touch_at: float = NEVER
    converted: bool = False  # the touch already has its conversion
    # Input partition (``positions.source_id``) -> [offset below which every record of this
    # customer is applied, then the offsets at or above it applied ahead of an earlier one].
    applied: dict[int, list[int]] = {}
    erased_at: float | None = None  # the shop erased the customer then: earlier events are theirs, and ignored
    forget_at: float | None = None  # an erasure marker: when it has served its purpose and the key is deleted
    format: int = 0  # STATE_FORMAT of the code that wrote it (a state stored without it is format 0)
    # A backfilled customer: the history the state was computed from is complete up to this
    # time, so a live event dated at or before it is part of that history (docs/backfill.md).
    history_until: float | None = None
    # The latest messages sent, for attributing email engagement and conversions to them
    # (``streams.core.attribution``): at most MAX_MESSAGES, each a list of ints indexed by ``SENT_*``.
    messages: list[list[int]] = []
    # When the customer first bought (``NEVER``: no purchase, or a state stored before this was
    # kept, whose first purchase is taken as ``first_seen``): the predictive trigger's start.
    first_purchase: float = NEVER
    # The customer's habits, for sending at their usual time (``streams.core.controls.send_time``):
    # how many of their purchases, logins, opens and clicks fell in each local hour (24 counts)
    # and weekday (7, Monday first); empty until the first one.  Small ints: halved when one is full.
    hours: list[int] = []
    weekdays: list[int] = []
    # The ads audiences the customer was added to in the current lapse, each [channel code, stage
    # code, step index, episode] of the command that added them: removed when the lapse ends.
    audiences: list[list[int]] = []

    @classmethod
    def starting(cls, at: float) -> CustomerActivity:
        """A customer first seen at ``at``: active, episode 0."""
        return cls(first_seen=at, stage_entered_at=at, format=STATE_FORMAT)

    @classmethod
    def erased(cls, at: float, applied: dict[int, list[int]], forget_at: float | None = None) -> CustomerActivity:
        """What is kept of a customer the shop erased at ``at``: nothing personal, only that time
        and the input offsets applied, so that neither a replay nor a late event brings them back,
        until ``forget_at``, when the key is deleted for good."""
        return cls(first_seen=NEVER, erased_at=at, applied=applied, forget_at=forget_at, format=STATE_FORMAT)

    def in_history(self, event: AnyInput, at: float) -> bool:
        """Whether the event, dated ``at``, is one the backfilled history already holds: dated at
        or before its end.  Never an opt-out or a profile, which must not be lost and whose
        application again changes nothing."""
        until = self.history_until
        return until is not None and at <= until and type(event) is not Profile and not opts_out(event)

    def is_erased(self) -> bool:
        """Whether this is what is kept of an erased customer (no event of theirs since)."""
        return self.first_seen == NEVER

    def encode(self) -> bytes:
        """msgpack bytes for table storage."""
        return _ENCODER.encode(self)

    @classmethod
    def decode(cls, raw: bytes) -> CustomerActivity:
        """The state ``encode`` wrote, in the current format whatever format it was written in."""
        state: CustomerActivity = _DECODER.decode(raw)
        if state.format < STATE_FORMAT:
            state._upgrade()
        return state

    def _upgrade(self) -> None:
        """A format-0 state's 0.0 times meant "never" (no event before 2000 was accepted then)."""
        for name in _NEVER_FIELDS:
            if getattr(self, name) == 0.0:
                setattr(self, name, NEVER)
        if self.erased_at is not None and self.first_seen == 0.0:
            self.first_seen = NEVER  # an erasure marker
        self.format = STATE_FORMAT

    def replayed(self, position: Position) -> bool:
        """True if the input record at ``position`` was applied already; otherwise remember it
        as applied and return False (``streams.model.positions`` says why this is exact)."""
        marks = self.applied.get(position.source)
        offset = position.offset
        if position.waiting_from is None and (marks is None or len(marks) == 1):  # in order: one number
            if marks is not None and offset < marks[0]:
                return True
            self.applied[position.source] = [offset + 1]
            return False
        done, *ahead = marks or [0]
        replayed = offset < done or offset in ahead
        if not replayed:
            ahead.append(offset)
        if ahead:  # everything up to the latest applied is, but for what still waits
            upto = max(ahead) + 1 if position.waiting_from is None else min(max(ahead) + 1, position.waiting_from)
            done = max(done, upto)
        self.applied[position.source] = [done, *sorted(mark for mark in ahead if mark >= done)]
        return replayed

    def seen(self, event: AnyInput) -> bool:
        """True if the event's (kind, id) is among the recent ones; otherwise remember it and return False."""
        key = dedupe_key(event)
        recent = self.recent
        if key in recent:
            return True
        recent.append(key)
        if len(recent) > RECENT_EVENTS:
            del recent[0]
        return False

    def see_all(self, events: list[AnyInput]) -> bool:
        """``seen`` of each event in turn, in one go, when none of them is a redelivery: True, and
        they are remembered.  When one may be (a key seen recently, or twice among these),
        False and nothing changes: the caller asks ``seen`` one event at a time.

        With no hash repeating, no ``seen`` call could have found its key among the recent ones,
        and the window ends up holding the latest of the old ones and these, as it would have.
        """
        keys = [dedupe_key(event) for event in events]
        recent = self.recent
        if len(set(keys)) != len(keys) or not set(recent).isdisjoint(keys):
            return False
        self.recent = (recent + keys)[-RECENT_EVENTS:]
        return True

    def record(self, event: AnyInput, at: float) -> None:
        """Fold one (non-duplicate) event that happened at ``at`` into the facts."""
        if at < self.first_seen:
            self.first_seen = at
        if type(event) is Purchase:
            self._record_purchase(event, at)
        elif type(event) is Login:
            if at > self.last_login:
                self.last_login = at
        elif type(event) is EmailEngagement:
            self._record_email(event, at)
        elif type(event) is Profile:
            self._record_profile(event, at)

    def _record_profile(self, profile: Profile, at: float) -> None:
        """The newest profile wins: profiles are snapshots, an older one is out of date.

        Of two with the same ``updated_at`` the later applied wins, as on the compacted profiles
        topic (which keeps the last one written) and in a backtest (line order on full ties):
        keeping the first made the engine judge quiet hours and consent by a profile that a
        replay of the compacted topic would not have.  Consent is the exception: on a tie it is
        what both allow, so a withdrawal wins in whatever order the two arrive.  A redelivered
        profile is applied again, which changes nothing.
        """
        if at < self.profile_at:
            return
        consent = channel_bits(profile.consent)
        if at == self.profile_at:
            consent &= self.consent
        self.profile_at = at
        self.reachable = channel_bits(profile.reachable)
        self.consent = consent
        self.preferred_channel = CONSENT_BITS[profile.preferred_channel] if profile.preferred_channel else 0
        self.time_zone = profile.time_zone
        self.locale = profile.locale

    def _record_purchase(self, purchase: Purchase, at: float) -> None:
        if self.first_purchase == NEVER:
            self.first_purchase = at if self.purchase_count == 0 else min(at, self.first_seen)
        elif at < self.first_purchase:
            self.first_purchase = at
        self.purchase_count += 1
        self.total_spend += purchase.amount
        if at > self.last_purchase:
            # Only a purchase newer than all others adds a gap: a late one would split a gap
            # that was already counted.
            if self.last_purchase != NEVER:
                self.gaps.append(round(at - self.last_purchase))
                if len(self.gaps) > CADENCE_GAPS:
                    del self.gaps[0]
            self.last_purchase = at
            if purchase.categories:
                self.last_category = purchase.categories[0]
        for category in purchase.categories:
            self._count_category(category)

    def _count_category(self, category: str) -> None:
        counts = self.categories
        if category not in counts and len(counts) >= MAX_CATEGORIES:
            del counts[min(counts, key=lambda name: (counts[name], name))]
        counts[category] = counts.get(category, 0) + 1

    def _record_email(self, email: EmailEngagement, at: float) -> None:
        action = email.action
        if action == "open":
            if at > self.last_open:
                self.last_open = at
        elif action == "click":
            if at > self.last_click:
                self.last_click = at
        elif action in _OPT_OUT_ACTIONS:
            self.unsubscribed |= CONSENT_BITS["email"]
        elif action == "bounce":
            self.bounced |= CONSENT_BITS["email"]

    def bought_first(self) -> float:
        """When the customer first bought (``NEVER``: never); for a state stored before
        ``first_purchase`` was kept, their first event, the closest it knows."""
        if self.first_purchase != NEVER or not self.purchase_count:
            return self.first_purchase
        return self.first_seen

    def cadence(self) -> float | None:
        """Seconds between this customer's purchases: the median of the latest gaps, robust to one odd gap."""
        gaps = self.gaps
        count = len(gaps)
        if count < MIN_CADENCE_GAPS:
            return None
        ordered = sorted(gaps)
        middle = count // 2
        return float(ordered[middle]) if count % 2 else (ordered[middle - 1] + ordered[middle]) / 2

    def top_categories(self) -> list[str]:
        """The most bought categories, most first (ties by name, so the answer is deterministic)."""
        counts = self.categories
        return sorted(counts, key=lambda name: (-counts[name], name))[:TOP_CATEGORIES]

    def channels(self, bits: int) -> list[str]:
        """Consent fields set in ``bits`` (``unsubscribed`` or ``bounced``)."""
        return [field for field, bit in CONSENT_BITS.items() if bits & bit]


def dedupe_key(event: AnyInput) -> int:
    """The CRC-32 of the event's kind (its type, and an email's action) and id."""
    kind = event.action if type(event) is EmailEngagement else event.__struct_config__.tag
    return crc32(event.event_id.encode(), _KIND_SEEDS[kind])


def opts_out(event: AnyInput) -> bool:
    """Whether the event withdraws consent (an unsubscribe or a spam complaint)."""
    return type(event) is EmailEngagement and event.action in _OPT_OUT_ACTIONS


def signal_of(event: AnyInput) -> str | None:
    """The activity signal an event is (policy ``activity.signals`` names), or None (profiles never are)."""
    if type(event) is Purchase:
        return "purchase"
    if type(event) is Login:
        return "login"
    if type(event) is not EmailEngagement:
        return None
    action = event.action
    return "email_open" if action == "open" else "email_click" if action == "click" else None


def channel_bits(fields: Iterable[str]) -> int:
    """The CONSENT_BITS mask of these consent fields (a built-in channel's is its name)."""
    bits = 0
    for field in fields:
        bits |= CONSENT_BITS[field]
    return bits


_KIND_SEEDS = {kind: crc32(kind.encode()) for kind in (*get_args(EmailAction), "purchase", "login", "feedback")}
_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(CustomerActivity)
