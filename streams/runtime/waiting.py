"""Which input offsets of a customer arrived but are not applied yet (the ``event`` clock).

With the event clock a customer's events wait for the watermark and are applied in event-time
order, so one input record may be applied while an earlier one of the same customer and input
partition still waits.  The state must then not count the earlier one as applied
(``streams.model.positions``): this tells the engine, with each applied event, the smallest
offset still waiting.  With the other clocks nothing waits and no such index is kept.
"""

from __future__ import annotations

from streams.model.positions import Position
from streams.runtime.provenance import Origin

_Customer = tuple[bytes, str, int]  # customer key, input topic, input partition


class WaitingOffsets:
    """Per events partition, per customer and input partition: the offsets waiting, as a list."""

    def __init__(self) -> None:
        self._partitions: dict[int, dict[_Customer, list[int]]] = {}

    def add(self, partition: int, key: bytes, origin: Origin) -> None:
        """An event of customer ``key`` from ``origin`` arrived on events ``partition`` and waits."""
        self._partitions.setdefault(partition, {}).setdefault((key, origin.topic, origin.partition), []).append(origin.offset)

    def applying(self, partition: int, key: bytes, origin: Origin) -> Position:
        """The event from ``origin`` is applied now: its position, with the earliest offset of
        the same customer and input partition that still waits."""
        customers = self._partitions.get(partition, {})
        customer = (key, origin.topic, origin.partition)
        offsets = customers.get(customer)
        if offsets is not None and origin.offset in offsets:
            offsets.remove(origin.offset)
        if not offsets:
            customers.pop(customer, None)
            return origin.position()
        return origin.position(waiting_from=min(offsets))

    def keep_only(self, partitions: set[int]) -> None:
        """Forget events partitions this worker no longer owns (their events go to the new owner)."""
        for partition in set(self._partitions) - partitions:
            del self._partitions[partition]
