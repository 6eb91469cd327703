"""Recorders: how the engine writes its decisions down.

The engine decides: who enters a stage, which step goes out on which channel or is skipped
and why, which purchase converts.  A ``Recorder`` turns each decision into the record that
stands for it.  The stream processor publishes ``FULL`` records, with deterministic ids,
timestamps and personalisation.  A backtest that only counts records would spend most of its
replay time making payloads that nobody reads, so it gives the engine a recorder that keeps
only what its report counts (``streams.backtest``).  The decisions are the same either way:
the same engine code makes them, and only the last step, writing them down, differs.
"""

from __future__ import annotations

from typing import Protocol, TypeVar, Union

from streams.core import attribution, series as campaign
from streams.model.activity import CustomerActivity
from streams.core.controls.assignment import Assignment
from streams.core.series import PlannedStep, SendPlan, StepDecision
from streams.model.records import Channel, MessageCommand, Outcome, Skip, SkipAction, SkipReason, Trigger
from streams.model.events import Purchase

Record = Union[Trigger, MessageCommand, Skip, Outcome]
R_co = TypeVar("R_co", covariant=True)


class Recorder(Protocol[R_co]):
    """What the engine calls, at the moment of each decision, with the state as it is then."""

    def trigger(self, customer_id: str, state: CustomerActivity, last_activity: float, group: Assignment) -> R_co:
        """The customer has just entered ``state.stage``."""
        ...

    def command(
        self, customer_id: str, state: CustomerActivity, step: PlannedStep, last_activity: float, plan: SendPlan
    ) -> R_co:
        """``step`` of the current campaign goes out as ``plan`` says."""
        ...

    def skip(
        self, decision: StepDecision, reason: SkipReason, action: SkipAction, channel: Channel | None = None, deferred_to: float | None = None
    ) -> R_co:
        """The step ``decision`` is about does not go out as planned (see ``streams.model.records.Skip``)."""
        ...

    def outcome(self, customer_id: str, state: CustomerActivity, purchase: Purchase, at: float, group: Assignment) -> R_co:
        """``purchase``, made at ``at``, converts the customer's latest touch."""
        ...


class FullRecords:
    """Every decision as the full record the stream publishes (``streams.model.records``)."""

    trigger = staticmethod(campaign.trigger)
    command = staticmethod(campaign.command)
    skip = staticmethod(campaign.skip)
    outcome = staticmethod(attribution.outcome)


FULL: Recorder[Record] = FullRecords()
