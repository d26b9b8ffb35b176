"""Placeholder: the coral integration blueprint (being written)."""

from flask import Blueprint

bp = Blueprint("coral", __name__)
