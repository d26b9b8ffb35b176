"""Read a request body and parse it as JSON (strict UTF-8, no duplicate keys), before a schema
(``service.schemas``) checks its fields; and the checks that need a page split into blocks."""

from __future__ import annotations

import json
import unicodedata

from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

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


def html_page_blocks(html: str, max_chars: int, max_blocks: int):
    """The blocks of a page sent as ``html`` (already checked as a string within the page limit):
    ``(blocks as (start, end, text), their markup evidence, the extracted text)``; offsets count
    into the extracted text."""
    from model.html_page import MAX_DEPTH, extracted_text, markup_evidence, nesting_depth, parse_blocks

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


def text_page_blocks(text: str, max_chars: int, max_blocks: int) -> list[tuple[int, int, str]]:
    """The blocks of a page sent as ``text`` (already checked as a string within the page limit),
    one a line, as ``(start, end, text)``."""
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


def given_blocks(texts: list[str]) -> list[tuple[int, int, str]]:
    """Blocks sent as ``blocks`` as ``(start, end, text)``, offsets counting into the blocks joined by line breaks."""
    blocks, start = [], 0
    for block in texts:
        blocks.append((start, start + len(block), block))
        start += len(block) + 1
    return blocks
