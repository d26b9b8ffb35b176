"""Turn a request body into a list of texts, or an error that says what arrived."""

from __future__ import annotations

import json

from model.labels import check_band
from service.errors import InvalidRequest, UnsupportedMediaType

_JSON_TYPES = ("application/json",)


def _type_name(value) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
            int: "int", float: "number"}.get(type(value), type(value).__name__)


def parse_json_object(mimetype: str, body: bytes) -> dict:
    """The body as a JSON object, or 415 when it is not JSON and 400 when it is invalid."""
    if mimetype not in _JSON_TYPES and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            f"send the body as JSON with 'Content-Type: application/json' (got {mimetype or 'no content type'!r})"
        )
    try:
        payload = json.loads(body)
    except UnicodeDecodeError:
        raise InvalidRequest("the body is not valid UTF-8", code="invalid_json") from None
    except (ValueError, RecursionError) as error:
        detail = error.msg if isinstance(error, json.JSONDecodeError) else "nested too deeply"
        raise InvalidRequest(f"the body is not valid JSON ({detail})", code="invalid_json") from None
    if not isinstance(payload, dict):
        raise InvalidRequest(f"the body must be a JSON object (got {_type_name(payload)})")
    return payload


def _check_text(text, where: str, max_chars: int) -> str:
    if not isinstance(text, str):
        raise InvalidRequest(f"{where} must be a string (got {_type_name(text)})")
    if not text.strip():
        raise InvalidRequest(f"{where} is empty or only whitespace", code="empty_text")
    if len(text) > max_chars:
        raise InvalidRequest(
            f"{where} has {len(text)} characters; the limit is {max_chars}", code="text_too_long"
        )
    return text


def texts_from(payload: dict, max_chars: int, max_texts: int) -> tuple[list[str], bool]:
    """The texts to classify and whether a single ``text`` (not ``texts``) was sent."""
    has_text, has_texts = "text" in payload, "texts" in payload
    if has_text == has_texts:
        raise InvalidRequest(
            "send exactly one of 'text' (a string) or 'texts' (a list of strings)"
            + (" (got both)" if has_text else f" (got keys: {', '.join(sorted(payload)) or 'none'})")
        )
    if has_text:
        return [_check_text(payload["text"], "'text'", max_chars)], True
    texts = payload["texts"]
    if not isinstance(texts, list):
        raise InvalidRequest(f"'texts' must be a list of strings (got {_type_name(texts)})")
    if not texts:
        raise InvalidRequest("'texts' is empty: send 1 to {} texts".format(max_texts))
    if len(texts) > max_texts:
        raise InvalidRequest(f"'texts' has {len(texts)} items; the limit is {max_texts}", code="too_many_texts")
    return [_check_text(t, f"'texts'[{i}]", max_chars) for i, t in enumerate(texts)], False


def review_band_from(payload: dict, default):
    """The request's ``review_band`` as a (low, high) tuple, else ``default``."""
    if "review_band" not in payload:
        return default
    try:
        return check_band(payload["review_band"])
    except ValueError as error:
        raise InvalidRequest(f"'review_band': {error}", code="invalid_review_band") from None


def explain_options(payload: dict, max_top: int = 100) -> tuple[bool, int]:
    """``explain`` (a boolean, default false) and ``explain_top`` (1 to ``max_top``, default 10)."""
    explain = payload.get("explain", False)
    if not isinstance(explain, bool):
        raise InvalidRequest(f"'explain' must be true or false (got {_type_name(explain)})")
    top = payload.get("explain_top", 10)
    if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= max_top:
        raise InvalidRequest(f"'explain_top' must be a whole number from 1 to {max_top} (got {top!r:.40})")
    return explain, top


def page_from(payload: dict, max_page_chars: int, max_chars: int, max_blocks: int) -> list[tuple[int, int, str]]:
    """The page's blocks as ``(start, end, text)``: split from ``text``, or given as ``blocks``.

    With ``blocks``, offsets count into the blocks joined by line breaks.
    """
    from model.segment import split_blocks

    has_text, has_blocks = "text" in payload, "blocks" in payload
    if has_text == has_blocks:
        raise InvalidRequest(
            "send exactly one of 'text' (the page as a string) or 'blocks' (a list of strings)"
            + (" (got both)" if has_text else f" (got keys: {', '.join(sorted(payload)) or 'none'})")
        )
    if has_text:
        text = payload["text"]
        if not isinstance(text, str):
            raise InvalidRequest(f"'text' must be a string (got {_type_name(text)})")
        if len(text) > max_page_chars:
            raise InvalidRequest(f"'text' has {len(text)} characters; the limit for a page is {max_page_chars}",
                                 code="text_too_long")
        blocks = split_blocks(text)
        if not blocks:
            raise InvalidRequest("'text' has no non-blank line", code="empty_text")
        if len(blocks) > max_blocks:
            raise InvalidRequest(f"'text' has {len(blocks)} blocks; the limit is {max_blocks}", code="too_many_blocks")
        return blocks
    given = payload["blocks"]
    if not isinstance(given, list):
        raise InvalidRequest(f"'blocks' must be a list of strings (got {_type_name(given)})")
    if not given:
        raise InvalidRequest(f"'blocks' is empty: send 1 to {max_blocks} blocks")
    if len(given) > max_blocks:
        raise InvalidRequest(f"'blocks' has {len(given)} items; the limit is {max_blocks}", code="too_many_blocks")
    blocks, start = [], 0
    for i, block in enumerate(given):
        _check_text(block, f"'blocks'[{i}]", max_chars)
        blocks.append((start, start + len(block), block))
        start += len(block) + 1
    return blocks
