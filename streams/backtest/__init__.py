"""The backtest: a JSON-lines event log replayed through the engine, and the report of what a policy would have done."""
