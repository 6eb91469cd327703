"""Which input offsets of a customer arrived but are not applied yet (the ``event`` clock).

With the event clock a customer's events wait for the watermark and are applied in event-time
order, so one input record may be applied while an earlier one of the same customer and input
partition still waits.  The state must then not count the earlier one as applied
(``streams.model.positions``): this tells the engine, with each applied event, the smallest
offset still waiting.  With the other clocks nothing waits and no such index is kept.
"""

from __future__ import annotations

from streams.model.positions import Position

_Customer = tuple[bytes, int]  # customer key, input partition's source id


class WaitingOffsets:
    """Per events partition, per customer and input partition: the offsets waiting, as a list.

    An input record is named by its ``Position`` as read (its input partition's source id and
    its offset), which the handler makes once per record for the engine anyway.
    """

    def __init__(self) -> None:
        self._partitions: dict[int, dict[_Customer, list[int]]] = {}

    def add(self, partition: int, key: bytes, origin: Position) -> None:
        """An event of customer ``key`` from input record ``origin`` arrived on events ``partition`` and waits."""
        self._partitions.setdefault(partition, {}).setdefault((key, origin.source), []).append(origin.offset)

    def applying(self, partition: int, key: bytes, origin: Position) -> Position:
        """The event from input record ``origin`` is applied now: its position, with the
        earliest offset of the same customer and input partition that still waits."""
        customers = self._partitions.get(partition, {})
        customer = (key, origin.source)
        offsets = customers.get(customer)
        if offsets is not None and origin.offset in offsets:
            offsets.remove(origin.offset)
        if not offsets:
            customers.pop(customer, None)
            return origin
        return Position(origin.source, origin.offset, min(offsets))

    def forget(self) -> None:
        """Forget every waiting offset (after a rebalance each event is delivered again)."""
        self._partitions.clear()
