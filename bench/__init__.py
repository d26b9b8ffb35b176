"""Benchmark of the classifier service under gunicorn against a hello-world floor.

Run ``python -m bench`` (or ``make bench``) from the repository root; see ``bench.__main__``.
"""
