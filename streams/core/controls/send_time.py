"""Send-time optimisation: the customer's habitual local hour (and weekday), and when a step meets it.

Each purchase, login, email open and click is counted in the customer's state by the local
hour and weekday it happened at (``CustomerActivity.hours``/``weekdays``, in their profile's
time zone, else the policy's default).  Counts are small ints: when one reaches
``HABIT_CEILING`` every count is halved, so old habits fade as new ones are counted and the
state stays at about 31 bytes.  The habitual hour is the peak of the hour counts smoothed over
neighbouring hours (a customer active at 19:00 and 20:00 is an evening customer, whichever
hour won by one); ties go to the earlier hour, so the answer is deterministic.

A step of a campaign (or A/B variant) whose mode is ``habitual`` goes out as planned if that is
within the habitual hour, else is moved to the hour's next start, no later than ``max_delay_hours`` after it was planned nor
than its expiry; with ``weekday``, to that hour on the habitual weekday if one comes within
that limit.  Quiet hours and caps are applied after it (``streams.core.delivery``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from streams.model.activity import CustomerActivity
from streams.model.events import AnyInput, EmailEngagement, Login, Purchase
from streams.model.records import STAGES
from streams.model.time_zones import zone
from streams.policy.sections import Policy
from streams.policy.send_time import SendTimeMode

HABIT_CEILING = 100  # a count reaching this halves them all
HOURS, WEEKDAYS = 24, 7
HOUR = 3600.0
DAY = 86400.0
EPOCH_WEEKDAY = 3  # 1 January 1970 was a Thursday (0: Monday)
_HABIT_ACTIONS = frozenset({"open", "click"})


def is_habit(event: AnyInput) -> bool:
    """Whether the event says when the customer is around: a purchase, login, open or click."""
    kind = type(event)
    return kind is Purchase or kind is Login or (kind is EmailEngagement and event.action in _HABIT_ACTIONS)  # type: ignore[union-attr]


def habitual_hour(hours: list[int], min_observations: int) -> int | None:
    """The local hour (0-23) the customer is most often around at, from enough observations (else None)."""
    if sum(hours) < min_observations:
        return None
    scores = [2 * hours[hour] + hours[hour - 1] + hours[(hour + 1) % HOURS] for hour in range(HOURS)]
    return scores.index(max(scores))


def habitual_weekday(weekdays: list[int], min_observations: int) -> int | None:
    """The weekday (0: Monday) the customer is most often around on, from enough observations (else None)."""
    if sum(weekdays) < min_observations:
        return None
    return weekdays.index(max(weekdays))


class Habit(NamedTuple):
    """The local hour and weekday a customer's habitual steps are timed by (None: none known)."""

    hour: int | None
    weekday: int | None


class SendTimes:
    """A policy's send-time setting: what it observes of customers and when their steps go out."""

    def __init__(self, policy: Policy) -> None:
        self.settings = policy.send_time
        self.default_zone = policy.quiet_hours.default_time_zone if policy.quiet_hours else "UTC"
        global_mode = policy.send_time.mode
        self._modes: dict[int, tuple[SendTimeMode, dict[str, SendTimeMode]]] = {
            STAGES.index(stage): (campaign.send_time or global_mode, dict(campaign.send_time_by_variant))
            for stage, campaign in policy.campaigns.items()
        }
        # Habits are counted only when some message may be timed by them (they cost a zone lookup per event).
        self.learning = any(
            mode == "habitual" or "habitual" in by_variant.values() for mode, by_variant in self._modes.values()
        )

    def observe(self, state: CustomerActivity, event: AnyInput, at: float) -> None:
        """Count ``event``, which happened at ``at``, in the customer's local hour and weekday (if
        it is a habit).  Called for every event while ``learning``: kept to plain arithmetic."""
        if not is_habit(event):
            return
        local = at + _utc_offset(state.time_zone or self.default_zone, at)
        hours, weekdays = state.hours, state.weekdays
        if not hours:
            hours = state.hours = [0] * HOURS
            weekdays = state.weekdays = [0] * WEEKDAYS
        hour, weekday = int(local // HOUR) % HOURS, (int(local // DAY) + EPOCH_WEEKDAY) % WEEKDAYS
        hours[hour] += 1
        weekdays[weekday] += 1
        if hours[hour] >= HABIT_CEILING:
            state.hours = [count // 2 for count in hours]
        if weekdays[weekday] >= HABIT_CEILING:
            state.weekdays = [count // 2 for count in weekdays]

    def habitual(self, stage: int, variant: str) -> bool:
        """Whether the steps of ``stage``'s campaign, for ``variant``, are timed by the customer's habits."""
        mode, by_variant = self._modes.get(stage, ("fixed", {}))
        return by_variant.get(variant, mode) == "habitual"

    def habit(self, state: CustomerActivity) -> Habit:
        """The local hour (and weekday) ``target`` times the customer's steps by: their habitual
        ones, else the policy's fallback hour.  The same for every step until their next event,
        so a series run finds it once (``streams.core.delivery.SeriesRun``)."""
        settings = self.settings
        hour = habitual_hour(state.hours, settings.min_observations) if state.hours else None
        if hour is None:
            return Habit(settings.fallback_hour, None)
        return Habit(hour, habitual_weekday(state.weekdays, settings.min_observations) if settings.weekday else None)

    def target(self, habit: Habit, state: CustomerActivity, planned: float, at: float, expires_after: float) -> float:
        """When a ``habitual`` step planned at ``planned`` and due now at ``at`` should go out, for
        a customer of ``habit``: the first habitual slot from ``planned`` on, or ``at`` if that is
        later (a step held back by caps or quiet hours past its slot is not held again), or when
        no slot comes in time.  Measured from ``planned``, the answer is the same however often
        the step is looked at."""
        hour, weekday = habit
        if hour is None:
            return at
        latest = planned + min(self.settings.max_delay_hours * HOUR, expires_after)
        tz = self._zone(state)
        slot = _next_slot(planned, hour, weekday, tz) if weekday is not None else None
        if slot is None or slot > latest:
            slot = _next_slot(planned, hour, None, tz)
        return max(at, slot) if slot <= latest else at

    def _zone(self, state: CustomerActivity) -> ZoneInfo:
        return zone(state.time_zone or self.default_zone)


def _utc_offset(zone_name: str, at: float) -> float:
    """Seconds the zone is ahead of UTC at ``at``.

    Every event is counted, so the zone database is asked once per zone and UTC day, not per
    event (about two microseconds each, most of the cost of learning habits), except on a day
    the zone changes its offset, when the event's own instant is looked up.
    """
    offset = _day_offset(zone_name, int(at // DAY))
    if offset is None:
        exact = datetime.fromtimestamp(at, zone(zone_name)).utcoffset()
        assert exact is not None  # a zone always has one
        return exact.total_seconds()
    return offset


@lru_cache(maxsize=1 << 14)
def _day_offset(zone_name: str, day: int) -> float | None:
    """The zone's UTC offset throughout the ``day``-th UTC day since the epoch (None: it changes that day)."""
    tz = zone(zone_name)
    start, end = datetime.fromtimestamp(day * DAY, tz).utcoffset(), datetime.fromtimestamp(day * DAY + DAY - 1, tz).utcoffset()
    return start.total_seconds() if start is not None and start == end else None


def _next_slot(at: float, hour: int, weekday: int | None, tz: ZoneInfo) -> float:
    """``at`` if it is within local ``hour`` (on ``weekday``, if given), else that hour's next start."""
    day: date = datetime.fromtimestamp(at, tz).date()
    for _ in range(WEEKDAYS + 1):
        slot = datetime.combine(day, time(hour), tzinfo=tz).timestamp()
        if slot + HOUR > at and (weekday is None or day.weekday() == weekday):
            return max(slot, at)
        day += timedelta(days=1)
    raise AssertionError("every hour of every weekday comes within eight days")  # pragma: no cover
