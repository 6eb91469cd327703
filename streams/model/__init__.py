"""The data model: inbound events, outbound records, per-customer state, the codec and the JSON Schemas. Imports nothing else of streams."""
