"""winback-streams: find customers who are drifting away and start the right campaign to bring them back.

The package is in layers, each importing only the ones below it: ``model`` (events, records,
customer state), ``policy``, ``core`` (the pure engine: no I/O, no clock reads, no Faust),
then ``runtime`` (the stream processor on Faust) and ``backtest`` beside it, ``admin``,
``devtools`` and ``cli``.  ARCHITECTURE.md draws the data path and says where new code goes.
"""

__version__ = "0.1.0"
