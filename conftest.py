"""The test suite's shared fixtures, builders and helpers live in tests/support; this loads them as a plugin."""

pytest_plugins = ["tests.support.fixtures"]
