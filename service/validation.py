"""Turn a request body into a list of texts, or an error that says what arrived."""

from __future__ import annotations

import json
import unicodedata

from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

from model.labels import check_band
from model.segment import split_blocks
from service.errors import InvalidRequest, UnsupportedMediaType

_JSON_TYPES = ("application/json",)


_JSON_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
                    int: "int", float: "number"}


def type_name(value, overrides: dict | None = None) -> str:
    """The JSON type of a parsed value, as error messages name it (``overrides``: other words for some types)."""
    kind = type(value)
    return (overrides or {}).get(kind) or _JSON_TYPE_NAMES.get(kind, kind.__name__)


def read_body(request) -> bytes:
    """The request's body; 413 when a body without Content-Length (chunked) runs over the limit.

    Werkzeug stops reading such a body at ``MAX_CONTENT_LENGTH`` and returns the part it read,
    truncated, without complaint; one more byte from the server's stream tells whether there was more.
    """
    try:
        body = request.get_data(cache=False)
        limit = request.max_content_length
        if request.content_length is None and limit is not None and len(body) >= limit:
            if request.environ["wsgi.input"].read(1):
                raise RequestEntityTooLarge()
    except HTTPException:
        raise
    except Exception as error:  # the server's stream refused the body: a malformed chunk, a cut connection
        raise BadRequest(f"the request body could not be read ({type(error).__name__}: "
                         "malformed chunked encoding, or the connection broke)") from None
    return body


def decode_utf8(body: bytes) -> str:
    """The body as text: strict UTF-8 (a byte-order mark is allowed and dropped), or 400 invalid_json.

    ``json.loads`` on bytes would guess UTF-16 or UTF-32 from the first bytes and let encoded
    surrogates (``\\xed\\xa0\\x80``) through; the API takes UTF-8 and nothing else.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequest(f"the body is not valid UTF-8 (byte {error.start})", code="invalid_json") from None
    return text[1:] if text.startswith("\ufeff") else text


# Characters that show nothing: controls, format characters (zero-width space and joiners, the
# byte-order mark, soft hyphen, bidirectional marks), separators, and the blank letters
# (Hangul fillers, the blank Braille pattern).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_blank(text: str) -> bool:
    """Whether ``text`` shows nothing: only whitespace, or invisible characters (a text of
    zero-width spaces normalises to nothing, and a model would only be guessing)."""
    if text.isascii():
        return not text.strip()
    return all(ch.isspace() or ch in _BLANK_LETTERS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES
               for ch in text)


def _no_duplicate_keys(pairs: list) -> dict:
    """An object hook that refuses a key given twice: a moderation service must not guess which
    ``text`` was meant, nor classify a different one from the one a proxy or a log saw."""
    payload = {}
    for key, value in pairs:
        if key in payload:
            raise ValueError(f"duplicate key {key!r:.60}")
        payload[key] = value
    return payload


def json_error_detail(error: Exception) -> str:
    """What was wrong with a body ``json.loads`` refused, said for a client."""
    if isinstance(error, json.JSONDecodeError):
        return error.msg
    if isinstance(error, RecursionError):
        return "nested too deeply"
    if "digits" in str(error) and "integer string conversion" in str(error):
        return "a number has too many digits"
    return str(error)


def parse_json_object(mimetype: str, body: bytes) -> dict:
    """The body as a JSON object, or 415 when it is not JSON and 400 when it is invalid."""
    if mimetype not in _JSON_TYPES and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            f"send the body as JSON with 'Content-Type: application/json' (got {mimetype or 'no content type'!r})"
        )
    text = decode_utf8(body)
    try:
        payload = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError) as error:
        detail = json_error_detail(error)
        raise InvalidRequest(f"the body is not valid JSON ({detail})", code="invalid_json") from None
    if not isinstance(payload, dict):
        raise InvalidRequest(f"the body must be a JSON object (got {type_name(payload)})")
    return payload


def check_text(text, where: str, max_chars: int) -> str:
    if not isinstance(text, str):
        raise InvalidRequest(f"{where} must be a string (got {type_name(text)})")
    if is_blank(text):
        raise InvalidRequest(f"{where} is empty or only whitespace or invisible characters", code="empty_text")
    if len(text) > max_chars:
        raise InvalidRequest(
            f"{where} has {len(text)} characters; the limit is {max_chars}", code="text_too_long"
        )
    return text


def _one_of(payload: dict, single: str, single_is: str, many: str) -> bool:
    """True when ``single`` was sent, False for ``many``; 400 for both or neither."""
    has_single, has_many = single in payload, many in payload
    if has_single == has_many:
        raise InvalidRequest(
            f"send exactly one of '{single}' ({single_is}) or '{many}' (a list of strings)"
            + (" (got both)" if has_single else f" (got keys: {', '.join(sorted(payload)) or 'none'})")
        )
    return has_single


def _list_of_texts(payload: dict, key: str, max_chars: int, max_items: int, too_many: str) -> list[str]:
    """``payload[key]``: a list of 1 to ``max_items`` non-blank strings of at most ``max_chars``."""
    items = payload[key]
    if not isinstance(items, list):
        raise InvalidRequest(f"'{key}' must be a list of strings (got {type_name(items)})")
    if not items:
        raise InvalidRequest(f"'{key}' is empty: send 1 to {max_items} {key}")
    if len(items) > max_items:
        raise InvalidRequest(f"'{key}' has {len(items)} items; the limit is {max_items}", code=too_many)
    for i, item in enumerate(items):
        if not isinstance(item, str) or len(item) > max_chars or is_blank(item):
            check_text(item, f"'{key}'[{i}]", max_chars)  # raises, naming the item (its label built only here)
    return items


def texts_from(payload: dict, max_chars: int, max_texts: int) -> tuple[list[str], bool]:
    """The texts to classify and whether a single ``text`` (not ``texts``) was sent."""
    if _one_of(payload, "text", "a string", "texts"):
        return [check_text(payload["text"], "'text'", max_chars)], True
    return _list_of_texts(payload, "texts", max_chars, max_texts, "too_many_texts"), False


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
        raise InvalidRequest(f"'explain' must be true or false (got {type_name(explain)})")
    top = payload.get("explain_top", 10)
    if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= max_top:
        raise InvalidRequest(f"'explain_top' must be a whole number from 1 to {max_top} (got {top!r:.40})")
    return explain, top


def _page_string(payload: dict, key: str, max_page_chars: int) -> str:
    """``payload[key]``, a whole page as one string within the page limit, else InvalidRequest."""
    value = payload[key]
    if not isinstance(value, str):
        raise InvalidRequest(f"'{key}' must be a string (got {type_name(value)})")
    if len(value) > max_page_chars:
        raise InvalidRequest(f"'{key}' has {len(value)} characters; the limit for a page is {max_page_chars}",
                             code="text_too_long")
    return value


def html_page_from(payload: dict, max_page_chars: int, max_chars: int, max_blocks: int):
    """The blocks of the page sent as ``html``: ``(blocks as (start, end, text), their markup
    evidence, the extracted text)``; offsets count into the extracted text."""
    from model.html_page import MAX_DEPTH, extracted_text, markup_evidence, nesting_depth, parse_blocks

    extra = sorted(set(payload) & {"text", "blocks"})
    if extra:
        raise InvalidRequest(f"send exactly one of 'text', 'blocks' or 'html' (got 'html' and {', '.join(repr(k) for k in extra)})")
    html = _page_string(payload, "html", max_page_chars)
    depth = nesting_depth(html)
    if depth > MAX_DEPTH:
        raise InvalidRequest(f"'html' nests elements {depth} deep; the limit is {MAX_DEPTH}", code="html_too_deep")
    parsed = parse_blocks(html)
    if not parsed:
        raise InvalidRequest("'html' has no visible text", code="empty_text")
    if len(parsed) > max_blocks:
        raise InvalidRequest(f"'html' has {len(parsed)} blocks; the limit is {max_blocks}", code="too_many_blocks")
    for index, block in enumerate(parsed):
        if block.end - block.start > max_chars:
            raise InvalidRequest(f"block {index} of 'html' has {block.end - block.start} characters; "
                                 f"the limit is {max_chars}", code="text_too_long")
    blocks = [(block.start, block.end, block.text) for block in parsed]
    return blocks, markup_evidence(parsed), extracted_text(parsed)


def page_from(payload: dict, max_page_chars: int, max_chars: int, max_blocks: int) -> list[tuple[int, int, str]]:
    """The page's blocks as ``(start, end, text)``: split from ``text``, or given as ``blocks``.

    With ``blocks``, offsets count into the blocks joined by line breaks.
    """
    if "text" not in payload and "blocks" not in payload:
        raise InvalidRequest("send exactly one of 'text' (the page as a string), 'blocks' (a list of strings) "
                             f"or 'html' (the page's HTML) (got keys: {', '.join(sorted(payload)) or 'none'})")
    if _one_of(payload, "text", "the page as a string", "blocks"):
        text = _page_string(payload, "text", max_page_chars)
        blocks = split_blocks(text)
        if all(is_blank(block) for _start, _end, block in blocks):
            raise InvalidRequest("'text' has no non-blank line", code="empty_text")
        if len(blocks) > max_blocks:
            raise InvalidRequest(f"'text' has {len(blocks)} blocks; the limit is {max_blocks}", code="too_many_blocks")
        for index, (start, end, _block) in enumerate(blocks):
            if end - start > max_chars:
                raise InvalidRequest(f"block {index} of 'text' (characters {start}-{end}) has {end - start} "
                                     f"characters; the limit is {max_chars}", code="text_too_long")
        return blocks
    blocks, start = [], 0
    for block in _list_of_texts(payload, "blocks", max_chars, max_blocks, "too_many_blocks"):
        blocks.append((start, start + len(block), block))
        start += len(block) + 1
    return blocks
