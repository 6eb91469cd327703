"""Tools for development, demos and tests: local Kafka, generated traffic, publishing, the demo, worker subprocesses, testing helpers."""
