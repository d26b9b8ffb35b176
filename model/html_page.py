"""HTML in: a page's blocks, their offsets into its extracted text, and what its markup says.

The HTML is parsed by selectolax (the lexbor engine: an HTML5 parser, C, linear in the input,
that never fails on bad markup and has no depth limit; see the README for the measurements
behind the choice). The tree is walked once, without recursion, in document order: text inside
one block-level element (``p``, ``li``, ``h1``-``h6``, ``div`` ...) or between two ``br`` is one
block; ``script``, ``style``, ``template`` and other invisible elements are dropped. The blocks
are joined by line breaks into the page's extracted text, and each block's ``start``/``end``
point into it.

Each block also carries the markup's evidence, from its own element and its ancestors:
inside a comment container (an element whose class or id names comments, replies or a
discussion), inside the article's body (``article``, ``main``, or a class such as
``entry-content``), or in page furniture (``nav``, ``aside``, ``footer``, ``form``, ``button``,
a byline, share or related-links box). ``markup_evidence`` turns that into a row of
(editorial, comment, other) votes for the segmenter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# Elements whose text the reader does not see.
SKIP = frozenset("script style noscript template svg math iframe object embed head title canvas video audio "
                 "select option datalist".split())
# Elements that start and end a block.
BLOCK = frozenset("address article aside blockquote body dd details dialog div dl dt fieldset figcaption figure "
                  "footer form h1 h2 h3 h4 h5 h6 header hr html li main nav ol p pre section summary table tbody "
                  "td th thead tfoot tr ul button label legend caption menu".split())
# Class and id words that mark a comment section, the article's body, and page furniture.
_COMMENT_WORDS = re.compile(r"comment|repl(?:y|ies)|discuss|respond|thread|talk|isso|remark|disqus|giscus|cusdis"
                            r"|waline|artalk|coral|topic-post|cooked")
_ARTICLE_WORDS = re.compile(r"article|entry-content|post-content|story|body-text|news-body|content-body|main-text")
_CHROME_WORDS = re.compile(r"byline|share|social|related|newsletter|subscribe|advert|promo|breadcrumb|menu|nav"
                           r"|meta|footer|header|sidebar|widget|button|btn|toolbar|actions|controls|author|date"
                           r"|time|count|sort|login|signin|vote|like|reply-link|permalink|tags?\b|cat-links")
_CHROME_TAGS = frozenset("nav aside footer form button header label select time menu figcaption".split())
# The comment's own text inside a comment container: these classes hold the words, not controls.
_TEXT_WORDS = re.compile(r"comment-content|comment-body-text|comment-text|isso-text\b|cooked|text-wrapper"
                         r"|message|content")

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Flags:
    """What the markup around a point says: inside comments, the article, furniture, comment text."""

    comments: bool = False
    article: bool = False
    chrome: bool = False
    text: bool = False


@dataclass(frozen=True)
class HtmlBlock:
    """One block of an HTML page: offsets into the extracted text, its text and its markup."""

    start: int
    end: int
    text: str
    flags: Flags


def _words(node) -> str:
    attributes = node.attributes
    return f"{attributes.get('class') or ''} {attributes.get('id') or ''} {attributes.get('role') or ''}".lower()


def _flags(node, parent: Flags) -> Flags:
    tag = node.tag
    words = _words(node)
    in_comments = parent.comments or bool(_COMMENT_WORDS.search(words))
    in_article = parent.article or tag in ("article", "main") or bool(_ARTICLE_WORDS.search(words))
    # A comment's own text container holds words, not controls, whatever surrounds it.
    text_here = in_comments and bool(_TEXT_WORDS.search(words))
    chrome = not text_here and (parent.chrome or tag in _CHROME_TAGS or bool(_CHROME_WORDS.search(words)))
    return Flags(in_comments, in_article, chrome, (parent.text or text_here) and not chrome)


def _children(node) -> list:
    children, child = [], node.child
    while child is not None:
        children.append(child)
        child = child.next
    return children


def parse_blocks(html: str) -> list[HtmlBlock]:
    """The blocks of ``html`` with offsets into the text they make when joined by line breaks."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    root = tree.root
    if root is None:
        return []
    blocks: list[HtmlBlock] = []
    pieces: list[str] = []
    position = 0
    current_flags = Flags()

    def flush(flags: Flags) -> None:
        nonlocal position, pieces
        text = _SPACE.sub(" ", "".join(pieces)).strip()
        pieces = []
        if not text:
            return
        start = position + (1 if blocks else 0)
        blocks.append(HtmlBlock(start, start + len(text), text, flags))
        position = start + len(text)

    # (node, flags of the node's context, entering?)
    stack: list[tuple[object, Flags, bool]] = [(root, Flags(), True)]
    while stack:
        node, flags, entering = stack.pop()
        if not entering:
            flush(current_flags)
            current_flags = flags
            continue
        tag = node.tag
        if tag == "-text":
            text = node.text_content or ""
            if text.strip() and not pieces:
                current_flags = flags
            pieces.append(text)
            continue
        if tag in SKIP or tag == "-comment" or tag is None:
            continue
        if tag == "br":
            flush(current_flags)
            continue
        own = _flags(node, flags) if tag and not tag.startswith("-") else flags
        if tag in BLOCK:
            flush(current_flags)
            current_flags = own
            stack.append((node, flags, False))
        for child in reversed(_children(node)):
            stack.append((child, own, True))
    flush(current_flags)
    return blocks


def extracted_text(blocks: list[HtmlBlock]) -> str:
    """The page's text: its blocks joined by line breaks (the offsets point into it)."""
    return "\n".join(block.text for block in blocks)


def markup_evidence(blocks: list[HtmlBlock]) -> np.ndarray:
    """``(n, 3)`` votes of the markup for (editorial, comment, other), each 0 or 1."""
    rows = np.zeros((len(blocks), 3))
    for row, block in zip(rows, blocks):
        flags = block.flags
        if flags.comments:
            if flags.text:
                row[1] = 1.0
            elif flags.chrome:
                row[2] = 1.0
        elif flags.chrome:
            row[2] = 1.0
        elif flags.article:
            row[0] = 1.0
    return rows


# Tags that close themselves or are closed by their next sibling: they do not nest.
_NON_NESTING = frozenset("area base br col embed hr img input link meta source track wbr p li dt dd tr td th "
                         "option optgroup thead tbody tfoot colgroup rb rt rp".split())
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]{0,30})")
# The HTML parser's tree builder slows down more than linearly on elements nested thousands
# deep (docs/api.md); no real page comes near this.
MAX_DEPTH = 1000


def nesting_depth(html: str) -> int:
    """How deep the page's elements nest at most, counted over its tags in one linear pass."""
    depth = deepest = 0
    for match in _TAG.finditer(html):
        if match.group(2).lower() in _NON_NESTING:
            continue
        if match.group(1):
            depth = max(0, depth - 1)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest
