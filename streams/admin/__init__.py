"""Administering the Kafka cluster the workers use: creating and verifying topics."""
