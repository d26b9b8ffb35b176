"""Coral Talk's external moderation phase: flag comments that read like pasted editorial prose.

Talk POSTs each new or edited comment here (``/v1/coral/moderate``), signed with HMAC-SHA256 in
``X-Coral-Signature`` (contract: ``../shared/integrations/coral-talk-external-moderation.md``). We answer
204 ("no opinion") unless P(editorial) reaches ``CORAL_FLAG_THRESHOLD``, in which case we add a
``COMMENT_DETECTED_SPAM`` flag, and with ``CORAL_ACTION = "withhold"`` also hold the comment
(``SYSTEM_WITHHELD``). Talk keeps no custom label or score from an external phase, so the
label, scores and model version go to our log.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

import lxml.html
from flask import Blueprint, Response, current_app, jsonify, request
from lxml import etree

from model.labels import label_for
from service.errors import APIError
from service.metrics import record_results
from service.model_access import classifier
from service.schemas import CoralModerationRequest, parse
from service.validation import parse_json_object, read_body

# Named as it was before the adapters had a package: operators filter their logs on it.
log = logging.getLogger("service.coral")
bp = Blueprint("coral", __name__)

PATH = "/v1/coral/moderate"
SIGNATURE_HEADER = "X-Coral-Signature"
FLAG = {"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"}
# "flag": keep the comment published and put it in Talk's Reported queue; Talk's own
# pre-moderation still applies. "withhold": also unpublish it (Pending queue); returning a
# status ends Talk's pipeline, so its pre-moderation phases are skipped for that comment.
POLICY_ACTIONS = ("flag", "withhold")
# Why 0.95 and not the card's review-band edge: nearly every comment Talk sends is a comment, so
# the band's precision, measured on a held-out mix rich in editorial text, overstates precision
# here. The card's calibration figures behind the choice: docs/integrations.md.
SETTINGS = {
    "CORAL_SIGNING_SECRETS": [],
    "CORAL_FLAG_THRESHOLD": 0.95,
    "CORAL_ACTION": "flag",
}


class SignatureRejected(APIError):
    """The request is not signed with a secret we hold."""

    status = 401
    code = "invalid_signature"


class CoralNotConfigured(APIError):
    """No signing secret is configured, so no request can be trusted."""

    status = 503
    code = "coral_not_configured"


@bp.record_once
def _check_settings(state) -> None:
    """Fill in defaults and refuse bad settings at start-up rather than per request."""
    config = state.app.config
    for key, default in SETTINGS.items():
        config.setdefault(key, default)
    secrets = config["CORAL_SIGNING_SECRETS"]
    if isinstance(secrets, str):
        secrets = [secrets]
    if not isinstance(secrets, (list, tuple)) or not all(isinstance(s, str) and s for s in secrets):
        raise ValueError(f"CORAL_SIGNING_SECRETS must be a list of non-empty strings (got {secrets!r:.40})")
    config["CORAL_SIGNING_SECRETS"] = list(secrets)
    threshold = config["CORAL_FLAG_THRESHOLD"]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise ValueError(f"CORAL_FLAG_THRESHOLD must be a number in (0, 1] (got {threshold!r:.40})")
    config["CORAL_FLAG_THRESHOLD"] = float(threshold)
    if config["CORAL_ACTION"] not in POLICY_ACTIONS:
        raise ValueError(f"CORAL_ACTION must be one of {POLICY_ACTIONS} (got {config['CORAL_ACTION']!r:.40})")


def signature_ok(raw_body: bytes, header: str, secrets: list[str]) -> bool:
    """True if any ``sha256=`` value in ``header`` is the HMAC of ``raw_body`` under any secret."""
    sent = [value.strip() for key, _, value in (part.partition("=") for part in header.split(","))
            if key.strip() == "sha256"]
    expected = [hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest() for secret in secrets]
    # Every pair is compared, so the time taken does not say which one matched.
    matches = [hmac.compare_digest(a.encode(), b.encode()) for a in sent for b in expected]
    return any(matches)


def moderation_for(p_editorial: float, threshold: float, action: str) -> dict | None:
    """Talk's response body for P(editorial) ``p_editorial``, or None for no opinion."""
    if p_editorial < threshold:
        return None
    if action == "withhold":
        return {"status": "SYSTEM_WITHHELD", "actions": [dict(FLAG)]}
    return {"actions": [dict(FLAG)]}


_BLOCKS = frozenset({"br", "div", "p", "li", "ul", "blockquote"})
# What an XML tree cannot hold (C0 controls but tab and line breaks, lone surrogates, U+FFFE/F):
# no words, and lxml refuses a string with any of them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def text_of_html(body: str) -> str:
    """The plain text of an HTML comment body: tags dropped, entities decoded, trimmed, with line
    breaks at block edges.

    Parsed by libxml2 (lxml), in time linear in the body: Python's ``html.parser`` rescans the
    rest of the body from every "<" of an unclosed tag or comment, quadratic in the body's size.
    """
    body = _NOT_XML.sub("", body)
    if not body.strip():
        return ""
    parser = etree.HTMLParser(recover=True, no_network=True, remove_comments=True, remove_pis=True)
    root = lxml.html.fragment_fromstring(body, create_parent="div", parser=parser)
    parts: list[str] = []
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if element is root:
            if event == "start" and root.text:
                parts.append(root.text)
            continue
        if event == "start":
            if element.tag in _BLOCKS:
                parts.append("\n")
            if element.text:
                parts.append(element.text)
        else:
            if element.tag in _BLOCKS:
                parts.append("\n")
            if element.tail:
                parts.append(element.tail)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


@bp.post(PATH)
def moderate():
    """Talk's external moderation phase: verify the signature, classify, flag or stay silent."""
    config = current_app.config
    secrets = config["CORAL_SIGNING_SECRETS"]
    if not secrets:
        raise CoralNotConfigured(
            "no Coral signing secret is configured: copy the phase's signing secret from Talk's admin "
            "(Configure > Moderation Phases) into COMMENT_CLASSIFIER_CORAL_SIGNING_SECRETS='[\"empsec_...\"]'"
        )
    raw = read_body(request)
    header = request.headers.get(SIGNATURE_HEADER)
    if header is None:
        raise SignatureRejected(f"the {SIGNATURE_HEADER} header is missing")
    if not signature_ok(raw, header, secrets):
        raise SignatureRejected(f"no sha256= value in {SIGNATURE_HEADER} matches a configured secret for this body")
    loaded = classifier()
    payload = parse_json_object(request.mimetype, raw)
    moderation = parse(CoralModerationRequest, payload)
    # Talk's PLAIN_TEXT format has no tags, so parsing it as HTML only decodes stray entities,
    # as Talk itself did when it made that text.
    action, text = moderation.action, text_of_html(moderation.comment.body)
    if not text:
        return Response(status=204)
    p = loaded.editorial_probability(text[: config["MAX_TEXT_CHARS"]])
    verdict = moderation_for(p, config["CORAL_FLAG_THRESHOLD"], config["CORAL_ACTION"])
    story = moderation.story if isinstance(moderation.story, dict) else {}
    decision = "none" if verdict is None else config["CORAL_ACTION"]
    log.info("coral %s story=%s label=%s editorial=%.4f comment=%.4f model=%s verdict=%s", action, story.get("id"),
             label_for(p), p, 1.0 - p, loaded.version, decision)
    record_results([{"label": label_for(p), "decision": decision}], [text], loaded.version)
    if verdict is None:
        return Response(status=204)
    return jsonify(verdict)
