"""Which input offsets of a customer arrived but are not applied yet (the ``event`` clock).

With the event clock a customer's events wait for the watermark and are applied in event-time
order, so one input record may be applied while an earlier one of the same customer and input
partition still waits.  The state must then not count the earlier one as applied
(``streams.model.positions``): this tells the engine, with each applied event, the smallest
offset still waiting.  With the other clocks nothing waits and no such index is kept.
"""

from __future__ import annotations

from streams.model.positions import Position, source_id

Source = tuple[str, int]  # an input topic and partition
_Customer = tuple[bytes, Source]  # customer key, input topic and partition


class WaitingOffsets:
    """Per events partition, per customer and input partition: the offsets waiting, as a list.

    An input record is named by its topic and partition (``source``) and its offset rather than
    by a ``provenance.Origin``: the keyed event clock adds and applies every input record here,
    and building an ``Origin`` for each was a fifth of the bookkeeping.
    """

    def __init__(self) -> None:
        self._partitions: dict[int, dict[_Customer, list[int]]] = {}

    def add(self, partition: int, key: bytes, source: Source, offset: int) -> None:
        """An event of customer ``key`` from ``offset`` of ``source`` arrived on events ``partition`` and waits."""
        self._partitions.setdefault(partition, {}).setdefault((key, source), []).append(offset)

    def applying(self, partition: int, key: bytes, source: Source, offset: int) -> Position:
        """The event from ``offset`` of ``source`` is applied now: its position, with the
        earliest offset of the same customer and input partition that still waits."""
        customers = self._partitions.get(partition, {})
        customer = (key, source)
        offsets = customers.get(customer)
        if offsets is not None and offset in offsets:
            offsets.remove(offset)
        if not offsets:
            customers.pop(customer, None)
            return Position(source_id(*source), offset)
        return Position(source_id(*source), offset, min(offsets))

    def keep_only(self, partitions: set[int]) -> None:
        """Forget events partitions this worker no longer owns (their events go to the new owner)."""
        for partition in set(self._partitions) - partitions:
            del self._partitions[partition]
