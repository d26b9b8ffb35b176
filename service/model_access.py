"""How a request gets the model that serves it: the one accessor every endpoint and integration uses.

The model is taken once per request: a reload swaps the app's model, not the one a request
already holds, and the response's ``X-Model-Version`` names this one (``service.reload`` reads
it from ``g.classifier``).
"""

from __future__ import annotations

from flask import current_app, g

from service.errors import NotReady


def classifier():
    """The model now serving, held for the rest of the request; 503 ``not_ready`` when there is none yet."""
    loaded = current_app.extensions.get("classifier")
    if loaded is None:
        raise NotReady("the model is not loaded yet; retry shortly")
    g.classifier = loaded
    return loaded
