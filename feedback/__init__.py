"""Moderators' feedback: the store the service writes and retraining reads.

Two backends behind one interface (``put``, ``get``, ``page``, ``rows``, ``count``, ``backup``,
``migrate``, ``schema_version``, ``close``): a SQLite file (``feedback.store``, the default, for
one host) and PostgreSQL (``feedback.postgres``, shared by replicas on several hosts).
``open_store`` picks one from where the feedback lives: a ``postgresql://`` URL or a file path.
"""

from feedback.store import SCHEMA_VERSION, VERDICTS, FeedbackError, FeedbackStore


def is_database_url(location) -> bool:
    """True for a PostgreSQL connection URL (``postgresql://`` or ``postgres://``)."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def open_store(location, busy_timeout: float = 10.0, pool_size: int = 4):
    """The feedback store at ``location``: PostgreSQL for a database URL, else a SQLite file.

    psycopg is imported only for a URL, so the SQLite default needs nothing beyond Python.
    """
    if is_database_url(location):
        from feedback.postgres import PostgresFeedbackStore

        return PostgresFeedbackStore(location, busy_timeout=busy_timeout, pool_size=pool_size)
    return FeedbackStore(location, busy_timeout=busy_timeout)


__all__ = ["FeedbackError", "FeedbackStore", "SCHEMA_VERSION", "VERDICTS", "is_database_url", "open_store"]
