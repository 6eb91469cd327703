"""winback-streams: find customers who are drifting away and start the right campaign to bring them back.

The package is split into a pure core (events, activity state, lifecycle, policy, campaigns,
backtest) that does no I/O, and thin Kafka/Faust plumbing around it (codec, app, agents,
scheduler, local broker).  The core is what the backtest, the tests and the agents share.
"""

__version__ = "0.1.0"
