"""Placeholder: the moderator's web page (being written)."""

from flask import Blueprint

bp = Blueprint("web", __name__)
