"""Experiment tracking: the client, its background writer and the fluent API."""
