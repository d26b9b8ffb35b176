"""A hello-world Flask app: the floor that gunicorn, Flask and JSON cost before any model runs.

It reads and parses the body as the real endpoint does (``request.get_data`` then
``json.loads``, as in ``service.validation``) and answers a small JSON object, so the model
service's gap to it is validation, classification and the bigger reply. It imports nothing
from the project, so its workers also show the memory floor of a bare Flask process.
"""

from __future__ import annotations

import json

from flask import Flask, abort, jsonify, request


def create_app() -> Flask:
    """An app answering ``{"status": "ok"}`` to ``POST /v1/classify`` and ``GET /readyz``."""
    app = Flask(__name__)
    app.json.sort_keys = False
    app.json.compact = True

    @app.get("/readyz")
    def readyz():
        """Ready: nothing to load."""
        return jsonify({"status": "ready"})

    @app.post("/v1/classify")
    def classify():
        """Parse the JSON body as the real endpoint does and answer a tiny object."""
        if request.mimetype != "application/json":
            abort(415)
        payload = json.loads(request.get_data(cache=False))
        if not isinstance(payload, dict):
            abort(400)
        return jsonify({"status": "ok"})

    return app
