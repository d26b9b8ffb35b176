"""Moderators' feedback: a SQLite store the service writes and retraining reads."""

from feedback.store import KINDS, LABELS, SCHEMA_VERSION, VERDICTS, FeedbackError, FeedbackStore

__all__ = ["FeedbackError", "FeedbackStore", "KINDS", "LABELS", "SCHEMA_VERSION", "VERDICTS"]
