"""Notification delivery: the outbox dispatcher, the parties directory, messages and senders."""
