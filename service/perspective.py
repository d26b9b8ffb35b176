"""Placeholder: the perspective integration blueprint (being written)."""

from flask import Blueprint

bp = Blueprint("perspective", __name__)
