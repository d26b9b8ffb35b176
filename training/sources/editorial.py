"""Importers for the editorial corpora: each yields one paragraph of a publication's own prose.

Every loader takes the data folder (the one holding ``bbc_news/``, ``reuters21578/`` ...,
described in its ``SOURCES.md``) and does only the cleaning that is specific to its source:
markup, tags, file structure, encoding slips and page furniture. Typography folding, the
length cut and deduplication across sources are left to the central normaliser, so the
texts keep their curly quotes, dashes and casing here.
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from training.records import EDITORIAL, Record
from training.sources.common import names_held_out_outlet, read_text, strip_html

_ASCII_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_ALNUM = re.compile(r"[^\W_]")


def _tidy(text: str) -> str:
    """Collapse the line breaks and indentation left by the file layout into single spaces."""
    # Only ASCII whitespace: non-breaking spaces are typography, the normaliser's job.
    return _ASCII_SPACE.sub(" ", text).strip()


def _records(source: str, group: str, paragraphs: Iterable[str]) -> Iterator[Record]:
    """Wrap cleaned paragraphs as editorial records, skipping those with no word left."""
    for paragraph in paragraphs:
        text = _tidy(paragraph)
        if _ALNUM.search(text):  # rating stars and rules ("*****") are not paragraphs
            yield Record(text, EDITORIAL, source, f"{source}:{group}")


def _blocks(text: str) -> list[list[str]]:
    """Split text into blank-line separated blocks of stripped, non-empty lines."""
    blocks = []
    for chunk in re.split(r"\n[ \t\r]*\n", text.replace("\r\n", "\n")):
        lines = [line.strip() for line in chunk.split("\n") if line.strip()]
        if lines:
            blocks.append(lines)
    return blocks


# --- The Globe and Mail (gnm_sfu_comment_extractor) -------------------------------------

GLOBE_MAIL = "globe_mail_editorial"
# Editorials, comment and the news columnists: the subset SOURCES.md suggests when the
# off-topic Sports, Life, Review, Travel and Investor columns are unwanted (about half the
# paragraphs). load_globe_mail takes it as `sections`.
OPINION_SECTIONS = frozenset(
    {
        "Editorial",
        "Comment",
        "Comment Column",
        "Column",
        "British Columbia News: Column",
        "Globe Toronto Column",
        "Focus Column",
    }
)

_FACTIVA_ARTICLE = re.compile(r'<div id="article-(GLOB\w+)"')
_FACTIVA_FIELD = r"<b>{}</b>&nbsp;(?:</p>)?</td><td>(.*?)</td>"
_FACTIVA_PARAGRAPH = re.compile(r"<p class=\"articleParagraph[^\"]*\">(.*?)</p>", re.S)
_HTML_PARAGRAPH = re.compile(r"<p\b[^>]*>(.*?)</p>", re.S)
# Factiva wraps company names in <span class="companylink">; removing the tags without a
# space keeps "<span>NHL</span>'s" as "NHL's" (strip_html would insert one).
_SPAN = re.compile(r"</?span\b[^>]*>", re.I)
# Contact lines, e-mail bylines and Twitter handles: "jsimpson@globeandmail.com",
# "Send your questions to trainer@...", "@PreetBanerjee". Also catches truncated "name@".
_AT_SIGN = re.compile(r"\w@|@\w")
_SENTENCE_END = re.compile(r"[.!?…:\"'”’)]$")
_SENTENCE_BREAK = re.compile(r"[.!?] [A-Z]")


@dataclass(frozen=True)
class _GlobeArticle:
    """One Globe and Mail article as exported: its paragraphs still in HTML."""

    article_id: str
    section: str
    byline: str
    paragraphs: list[str]
    title: str = ""  # the headline (Factiva's HD, the page's title); not a record's text


def _factiva_field(name: str, chunk: str) -> str:
    match = re.search(_FACTIVA_FIELD.format(name), chunk, re.S)
    return html.unescape(match.group(1)).strip() if match else ""


def _factiva_page_articles(root: Path) -> Iterator[_GlobeArticle]:
    """Articles of the Factiva "Article Format" HTML pages (100 per page)."""
    for page in sorted(root.glob("Sample_Resources/Factiva_Downloads/*/*.htm")):
        parts = _FACTIVA_ARTICLE.split(read_text(page))
        for article_id, chunk in zip(parts[1::2], parts[2::2]):
            yield _GlobeArticle(
                article_id,
                _factiva_field("SE", chunk),
                _factiva_field("BY", chunk),
                _FACTIVA_PARAGRAPH.findall(chunk),
                strip_html(_factiva_field("HD", chunk)),
            )


def _factiva_csv_rows(root: Path) -> list[dict[str, str]]:
    path = root / "Sample_Resources" / "Factiva_CSV" / "Factiva_csv.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _factiva_csv_articles(rows: list[dict[str, str]]) -> Iterator[_GlobeArticle]:
    """Articles of Factiva_csv.csv, whose LP and TD columns hold the paragraphs as HTML."""
    for row in rows:
        yield _GlobeArticle(
            row["AN"].removeprefix("Document ").strip(),
            row["SE"].strip(),
            html.unescape(row["BY"]).strip(),
            _HTML_PARAGRAPH.findall(row["LP"] + row["TD"]),
            strip_html(html.unescape(row.get("HD") or "")),
        )


def _online_articles(root: Path, rows: list[dict[str, str]]) -> Iterator[_GlobeArticle]:
    """Articles of Output/ArticleRawData, keyed by Factiva id when the CSV links them."""
    by_online_id = {row["Article_ID"].strip(): row for row in rows}
    for path in sorted(root.glob("Output/ArticleRawData/article_*.json")):
        for online_id, article in json.loads(read_text(path)).items():
            row = by_online_id.get(online_id)
            if row is not None:
                article_id = row["AN"].removeprefix("Document ").strip()
                section, byline = row["SE"].strip(), html.unescape(row["BY"]).strip()
            else:
                # All 57 pages are under /opinion/; the URL tells editorials from the rest.
                article_id, byline = online_id, ""
                is_editorial = "/opinion/editorials/" in article["article_url"]
                section = "Editorial" if is_editorial else "Comment"
            yield _GlobeArticle(article_id, section, byline, article["article_text"], article.get("title") or "")


def _byline_names(byline: str) -> list[str]:
    """The author names of a byline such as "DEREK BURNEY and FEN OSLER HAMPSON"."""
    names = re.split(r",|\band\b|&", byline, flags=re.I)
    return [name.strip().lower() for name in names if len(name.split()) >= 2]


def _globe_paragraphs(article: _GlobeArticle) -> list[str]:
    """Plain paragraphs of one article, without its byline, tagline and contact lines."""
    paragraphs = [_tidy(strip_html(_SPAN.sub("", html_text))) for html_text in article.paragraphs]
    names = _byline_names(article.byline)
    kept = []
    for index, text in enumerate(paragraphs):
        is_edge = index in (0, len(paragraphs) - 1)
        if _AT_SIGN.search(text) or text == "SEE CORRECTION AT END OF TEXT":
            continue
        # Factiva opens many columns with a tagline or kicker that is not a sentence:
        # "Author and past president of two Canadian liberal arts universities".
        if index == 0 and not _SENTENCE_END.search(text) and not _SENTENCE_BREAK.search(text):
            continue
        # Author notes name the author: "Gwyn Morgan is a Canadian business leader ...".
        if is_edge and any(text.lower().startswith(name) for name in names):
            continue
        kept.append(text)
    return kept


def _globe_articles(data_dir: Path) -> list[_GlobeArticle]:
    root = Path(data_dir) / "gnm_sfu_comment_extractor"
    rows = _factiva_csv_rows(root)
    return [
        *_factiva_page_articles(root),
        *_factiva_csv_articles(rows),
        *_online_articles(root, rows),
    ]


def load_globe_mail(data_dir: Path, sections: Collection[str] | None = None) -> Iterator[Record]:
    """Globe and Mail article paragraphs (Factiva pages, Factiva CSV, ArticleRawData)."""
    articles = _globe_articles(data_dir)
    seen: set[tuple[str, str]] = set()
    for article in articles:
        if sections is not None and article.section not in sections:
            continue
        # The same article is often exported twice (page and CSV): yield each paragraph once.
        fresh = []
        for text in _globe_paragraphs(article):
            if (article.article_id, text) not in seen:
                seen.add((article.article_id, text))
                fresh.append(text)
        yield from _records(GLOBE_MAIL, article.article_id, fresh)


# --- BBC News -----------------------------------------------------------------------------

BBC = "bbc"


def load_bbc(data_dir: Path) -> Iterator[Record]:
    """BBC News article paragraphs, headline dropped and duplicate articles skipped."""
    root = Path(data_dir) / "bbc_news" / "bbc"
    seen_texts: set[str] = set()
    for path in sorted(root.glob("*/*.txt")):
        text = html.unescape(read_text(path))  # a few entities: "communiqu&#233;"
        # 98 files repeat an earlier article word for word; a second copy under another
        # group would let the same text straddle a group split.
        if text in seen_texts:
            continue
        seen_texts.add(text)
        _headline, _, body = text.partition("\n")
        paragraphs = [" ".join(lines) for lines in _blocks(body)]
        yield from _records(BBC, path.relative_to(root).as_posix(), paragraphs)


# --- ABC (Australia) rural and science news -----------------------------------------------

ABC_AU = "abc_au"
# rural.txt was double-encoded in places: "Â\x85" is a cp1252 ellipsis seen through two
# decodings; the other "Â" lost its second byte (before a closing quote) and carries nothing.
_ABC_MOJIBAKE = (("Â\x85", "…"), ("Â", ""))
# In rural.txt a story continues in the next block under a subhead of one or two words
# ("Email questions", "Support"); headlines are longer ("Wool market falls").
_SUBHEAD_MAX_WORDS = 2


def _abc_blocks(data_dir: Path) -> Iterator[tuple[str, list[str], bool]]:
    """Each ABC block with its story's group and whether it opens the story (a rural block whose
    first line is a short subhead continues the story before)."""
    root = Path(data_dir) / "abc_news_au"
    for name in ("rural", "science"):
        # science.txt is Latin-1 with CRLF; both files carry HTML entities ("&deg;").
        text = html.unescape(read_text(root / f"{name}.txt"))
        for bad, good in _ABC_MOJIBAKE:
            text = text.replace(bad, good)
        story = -1
        for lines in _blocks(text):
            continues = name == "rural" and len(lines[0].split()) <= _SUBHEAD_MAX_WORDS
            opens = not continues or story < 0
            if opens:
                story += 1
            yield f"{name}:{story}", lines, opens


def load_abc_au(data_dir: Path) -> Iterator[Record]:
    """ABC rural and science news paragraphs, each block's headline or teaser dropped."""
    for group, lines, _opens in _abc_blocks(data_dir):
        yield from _records(ABC_AU, group, lines[1:])


# --- Reuters-21578 ------------------------------------------------------------------------

REUTERS = "reuters"
_REUTERS_STORY = re.compile(r"<REUTERS\b[^>]*\bNEWID=\"(\d+)\"[^>]*>(.*?)</REUTERS>", re.S)
_REUTERS_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.S)
_REUTER_SIGNOFF = re.compile(r"\s+reuter\W*$", re.I)
# The wire's company notation, "Standard Oil Co <SRD>" and "to <Woodco Inc> of": a cue of this
# one source, not of news. Tickers go; bracketed names keep the name.
_TICKER = re.compile(r"\s*<[A-Z][A-Z0-9.]*>")
_BRACKETED_NAME = re.compile(r"<([A-Z][^<>]{0,80})>")
# Table rows keep their column alignment: runs of three or more spaces inside a line.
_ALIGNED_COLUMNS = re.compile(r"\S {3,}\S")
# Earnings-template shorthand: "Shr 1.20 dlrs vs 98 cts", "Oper net 3,376,000 vs ...".
_TEMPLATE_WORDS = frozenset(
    "avg bln ct cts div dlr dlrs mln mth mths nil oper pct qtly qtr qtrs rev revs "
    "shr shrs vs".split()
)


def _is_template(paragraph: str) -> bool:
    """True for table and earnings-template paragraphs, mostly figures and shorthand."""
    tokens = paragraph.split()
    prose = [
        token
        for token in (t.strip(".,;:()'\"").lower() for t in tokens)
        if token.isalpha() and token not in _TEMPLATE_WORDS
    ]
    return len(prose) <= len(tokens) / 2


def _is_all_caps(paragraph: str) -> bool:
    """True for shouted paragraphs (titles and notices repeated in the body)."""
    letters = [char for char in paragraph if char.isalpha()]
    return len(letters) >= 2 and not any(char.islower() for char in letters)


def _reuters_paragraphs(body: str) -> Iterator[str]:
    # html.unescape drops control characters such as the &#3; end mark, but &#127; is line
    # noise that mostly stands where a space was ("500 mln dlr&#127;untied loan").
    body = strip_html(body.replace("&#127;", " "))
    body = _TICKER.sub("", _REUTER_SIGNOFF.sub("", body.rstrip()))
    body = _BRACKETED_NAME.sub(r"\1", body)
    # A new paragraph starts with a line indented by four spaces; the rest is hard wrapping.
    for paragraph in re.split(r"\n(?=    )", body):
        if _ALIGNED_COLUMNS.search(paragraph.strip()):
            continue
        text = _tidy(paragraph)
        if text and not _is_template(text) and not _is_all_caps(text):
            yield text


def load_reuters(data_dir: Path) -> Iterator[Record]:
    """Reuters newswire body paragraphs, without sign-off, tables and earnings templates."""
    for path in sorted((Path(data_dir) / "reuters21578").glob("reut2-*.sgm")):
        for newid, story in _REUTERS_STORY.findall(read_text(path)):
            body = _REUTERS_BODY.search(story)
            if body is not None:
                yield from _records(REUTERS, newid, _reuters_paragraphs(body.group(1)))


# --- Brown Corpus, press categories -------------------------------------------------------

BROWN_PRESS = "brown_press"
_BROWN_SAMPLE = re.compile(r"c[abc]\d\d")
# Tokens written against the previous one, and tokens the next one is written against.
_ATTACH_LEFT = frozenset(", . ; : ? ! ) % '' 's n't 're 'll 've 'd 'm".split())
_ATTACH_RIGHT = frozenset("`` ( $".split())


def _detokenise(tokens: list[str]) -> str:
    """Join Brown tokens back into running text, with straight double quotes."""
    out: list[str] = []
    glue_next = True  # no space before the first token
    single_open = False
    for token in tokens:
        attach_left = token in _ATTACH_LEFT
        if token == "'":  # a bare single quote: alternately opens and closes
            attach_left = single_open
            single_open = not single_open
        if token == "." and out and out[-1].endswith("."):
            continue  # "Jr." ending a sentence is tokenised "Jr. ."
        if out and not (glue_next or attach_left):
            out.append(" ")
        out.append('"' if token in ("``", "''") else token)
        glue_next = token in _ATTACH_RIGHT or (token == "'" and single_open)
    return "".join(out)


def _is_headline(line: str) -> bool:
    return all("hl" in token.rsplit("/", 1)[-1].split("-")[1:] for token in line.split())


def load_brown_press(data_dir: Path) -> Iterator[Record]:
    """Brown press paragraphs (reportage, editorial, reviews), untagged, headlines dropped."""
    root = Path(data_dir) / "brown_press"
    for path in sorted(root.iterdir()):
        if not _BROWN_SAMPLE.fullmatch(path.name):
            continue
        paragraphs = []
        for lines in _blocks(read_text(path)):
            # Headlines ("Merger/nn-hl proposed/vbn-hl") sit on their own line, sometimes
            # directly above a paragraph; they are titles, not paragraph prose.
            body = [line for line in lines if not _is_headline(line)]
            tokens = [token.rsplit("/", 1)[0] for line in body for token in line.split()]
            paragraphs.append(_detokenise(tokens))
        yield from _records(BROWN_PRESS, path.name, paragraphs)


# --- Wall Street Journal (Penn Treebank sample) --------------------------------------------

WSJ = "wsj"


def load_wsj(data_dir: Path) -> Iterator[Record]:
    """Wall Street Journal article paragraphs from the Penn Treebank raw files."""
    for path in sorted((Path(data_dir) / "wsj_ptb_sample" / "raw").glob("wsj_*")):
        # The text is ASCII; wsj_0142 has two stray bytes from another code page around
        # "yesterday's", with no recoverable meaning, so non-ASCII characters are dropped.
        text = read_text(path).encode("ascii", "ignore").decode("ascii")
        # ".START" opens each article; in wsj_0118 it ends a stray heading line
        # ("Fundamentalists Jihad .START") where a second article begins.
        paragraphs = [
            " ".join(line for line in lines if not line.endswith(".START"))
            for lines in _blocks(text)
        ]
        yield from _records(WSJ, path.name, paragraphs)


# --- Project Syndicate (COVID-19 commentaries) ---------------------------------------------

PROJECT_SYNDICATE = "project_syndicate"
# Promo boxes, photo credits and subscription appeals repeat across articles; no line of
# an article's own prose occurs in three of them.
_FURNITURE_MIN_ARTICLES = 3
# Scraping lost some paragraph breaks: "…endangered category.Our existing ethical …".
_GLUED_SENTENCE = re.compile(r"(?<=[a-z]\.)(?=[A-Z])")


def load_project_syndicate(data_dir: Path) -> Iterator[Record]:
    """Project Syndicate commentary paragraphs, without byline and site furniture."""
    path = Path(data_dir) / "project_syndicate_covid" / "Page_all.csv"
    with path.open(encoding="cp1252", newline="") as handle:
        rows = list(csv.DictReader(handle))
    articles: dict[str, str] = {}  # article text -> row number; two rows are repeats
    for row in rows:
        articles.setdefault(row["x"], row[""])
    lines_of = {x: [line.strip() for line in x.splitlines() if line.strip()] for x in articles}
    spread = Counter(line for lines in lines_of.values() for line in set(lines))
    for x, row_number in articles.items():
        lines = lines_of[x][1:]  # the first line is date and author: "May 14, 2020Raj Persaud"
        while lines and lines[0].startswith(","):  # co-authors: ",\xa0Els Torreele"
            lines = lines[1:]
        paragraphs = [
            _GLUED_SENTENCE.sub(" ", line)
            for line in lines
            if spread[line] < _FURNITURE_MIN_ARTICLES
        ]
        yield from _records(PROJECT_SYNDICATE, row_number, paragraphs)


# --- State of the Union addresses ----------------------------------------------------------

STATE_OF_UNION = "state_of_union"
# Six files (1954 Eisenhower, 1970-1974 Nixon) passed through Big5: their quotes, dashes and
# ellipses became two-byte sequences. Map them back to the ASCII the other 59 files use; the
# one other pair (1954, "cancellation of the \xbd\xa2 decrease", perhaps "½¢") is dropped.
_BIG5_PUNCTUATION = {
    b"\xa1\xa6": b"'",
    b"\xa1\xa7": b'"',
    b"\xa1\xa8": b'"',
    b"\xa1X": b"--",
    b"\xa1K": b"...",
    b"\xa1@": b" ",
}
_BIG5_PAIR = re.compile(rb"[\xa1-\xf9][\x40-\x7e\xa1-\xfe]")
# The line after the title is the date, sometimes with a subtitle before it
# ("Overview and Goals.  February 2, 1973") or a note after it ("Dated January 14, 1946").
_SOTU_DATE = re.compile(
    r"(?:[\w ]+\.\s+)?(?:January|February|March|April|May|June|July|August|September"
    r"|October|November|December) \d{1,2}, \d{4}\b.*"
)
_SOTU_TIME_STAMP = re.compile(r"(?:END )?\d{1,2}:\d{2} [AP]\.M\. E[SD]T")
_SOTU_ANNOTATION = re.compile(r"\((?:Applause|Laughter)\.\)|THE PRESIDENT:")
# 1985-Reagan.txt writes its quotation marks TeX-style, ``like this''.
_TEX_QUOTE = re.compile(r"``|''")
# 2006-GWBush.txt has White House photo captions run into the paragraphs that follow them.
_PHOTO_CAPTION = re.compile(r"^.*?White House photo by \w+ [A-Z][a-z]+")


def _sotu_text(path: Path) -> str:
    data = _BIG5_PAIR.sub(lambda m: _BIG5_PUNCTUATION.get(m.group(), b""), path.read_bytes())
    return data.decode("latin-1")


def load_state_of_union(data_dir: Path) -> Iterator[Record]:
    """State of the Union paragraphs (one per line), without title, date and annotations."""
    for path in sorted((Path(data_dir) / "us_state_union").glob("*.txt")):
        lines = [line.strip() for line in _sotu_text(path).splitlines() if line.strip()]
        lines = lines[1:]  # the title
        if lines and _SOTU_DATE.fullmatch(lines[0]):
            lines = lines[1:]
        paragraphs = [
            _TEX_QUOTE.sub('"', _PHOTO_CAPTION.sub("", _SOTU_ANNOTATION.sub(" ", line)))
            for line in lines
            # The printed edition's notes ("NOTE: The President spoke at 12:34 p.m. ...")
            # and the transcript's time stamps are not part of the speech.
            if not line.startswith("NOTE:") and not _SOTU_TIME_STAMP.fullmatch(line)
        ]
        yield from _records(STATE_OF_UNION, path.name, paragraphs)


def load_globe_mail_opinion(data_dir: Path) -> Iterator[Record]:
    """Globe and Mail paragraphs from the editorial, comment and news-column sections only.

    The lifestyle, sports and review columns are chatty first-person prose that reads like a
    comment; leaving them out raised leave-one-source-out macro-F1 and the left-out Globe
    editorial accuracy.
    """
    return load_globe_mail(data_dir, sections=OPINION_SECTIONS)


# --- AllSides-crawled US opinion columns and news (Baly et al.) ---------------------------

ALLSIDES_OPINION = "allsides_opinion"
ALLSIDES_NEWS = "allsides_news"
_ALLSIDES_MIN_WORDS = 8  # shorter lines are headings, "Advertisement", captions
# A line in this many articles is site furniture ("Sign up for Daily Newsletters ...").
_ALLSIDES_FURNITURE_MIN_ARTICLES = 3
# Furniture the notes name: bylines and disclaimers, syndication notices, photo captions and
# credits, embedded tweets, sign-up prompts. Plain phrases (lowercased) are checked first.
_ALLSIDES_FURNITURE_PHRASES = (
    "opinions expressed in this commentary", "opinion expressed in this commentary",
    "views expressed in this commentary", "opinions expressed by columnists",
    "creators syndicate", "creators.com", "enlarge this image", "toggle caption",
    "reuters/", "ap photo", "getty images", "/reuters)", "/ap)", "/afp)", "pic.twitter.com",
    "on twitter @", "twitter.com/", "sign up for", "click here", "copyright ©", "©",
    "contributed to this report", "this story was updated", "hide caption", "photos:",
    "distributed by", "content agency", "hosted online by",
)
_ALLSIDES_FURNITURE_START = re.compile(
    r"Slideshow \(\d+ Images\)|Story highlights|FILE -|\(Graphic:|ADVERTISEMENT", re.IGNORECASE
)
_ALLSIDES_FURNITURE = re.compile(
    r"\(@\w+\) [A-Z][a-z]+ \d{1,2}, \d{4}|[Ff]ollow (?:us|\w+(?: \w+)?) on Twitter"
)
# The Hill's link cards: "President Trump Donald John TrumpGOP senators balk ... MORE says".
_HILL_CARD_GLUE = re.compile(r"[a-z][A-Z]")
_HILL_CARD_END = re.compile(r" MORE\b")
# Datelines: "WASHINGTON (Reuters) -", "BEIRUT, Lebanon (AP) --", "Washington (CNN)", "(CNN)".
_WIRE_DATELINE = re.compile(r"^(?:[A-Z][\w .,'/-]{0,60} )?\((?:Reuters|AP|CNN)\) *(?:(?:-+|—|–) *)?")
_SENTENCE_CLOSE = re.compile(r"[.!?\"”’)]$")


def _allsides_lines(article: dict) -> list[str]:
    """The article's paragraphs: title echo, CNN highlights and within-article repeats dropped."""
    lines = [_tidy(line) for line in article.get("content_original", "").split("\n")]
    lines = [line for line in lines if line]
    title = _tidy(article.get("title", ""))
    if lines and title:
        # NPR repeats the headline as a line; CBS glues it to the first paragraph.
        if lines[0] == title:
            lines = lines[1:]
        elif lines[0].startswith(title + " "):
            lines[0] = lines[0][len(title) + 1 :]
    if lines and lines[0].startswith("Story highlights"):
        # CNN's bullets follow, none ending like a sentence.
        lines = lines[1:]
        while lines and not _SENTENCE_CLOSE.search(lines[0]):
            lines = lines[1:]
    return list(dict.fromkeys(lines))  # AP and the Atlantic repeat paragraphs


def _allsides_keeps(line: str, is_hill: bool) -> bool:
    lowered = line.lower()
    if (
        len(line.split()) < _ALLSIDES_MIN_WORDS
        or any(phrase in lowered for phrase in _ALLSIDES_FURNITURE_PHRASES)
        or _ALLSIDES_FURNITURE_START.match(line)
        or _ALLSIDES_FURNITURE.search(line)
    ):
        return False
    if is_hill and _HILL_CARD_END.search(line) and _HILL_CARD_GLUE.search(line):
        return False
    return not names_held_out_outlet(line)


def load_allsides(data_dir: Path) -> Iterator[Record]:
    """AllSides-crawled opinion columns and news articles (the staged files), by bucket.

    Opinion buckets ("op_*") feed allsides_opinion, news buckets ("news_*") allsides_news;
    one group per article. Furniture repeated across articles, short lines, known furniture
    lines and every paragraph naming a held-out outlet are dropped.
    """
    root = Path(data_dir) / "allsides_article_bias"
    with (root / "manifest_staged.csv").open(encoding="utf-8", newline="") as handle:
        staged = list(csv.DictReader(handle))
    articles = []
    for row in staged:
        article = json.loads(read_text(root / row["path"]))
        source = ALLSIDES_OPINION if row["bucket"].startswith("op_") else ALLSIDES_NEWS
        articles.append((source, row["bucket"], article["ID"], _allsides_lines(article)))
    spread = Counter(line for *_rest, lines in articles for line in lines)
    for source, bucket, article_id, lines in articles:
        undated = (
            _WIRE_DATELINE.sub("", line)
            for line in lines
            if spread[line] < _ALLSIDES_FURNITURE_MIN_ARTICLES
        )
        is_hill = bucket.endswith("thehill")
        paragraphs = [line for line in undated if _allsides_keeps(line, is_hill)]
        yield from _records(source, article_id, paragraphs)


def load_allsides_opinion(data_dir: Path) -> Iterator[Record]:
    """Opinion columns of the AllSides corpus (CNN Opinion, Townhall, National Review ...)."""
    return (record for record in load_allsides(data_dir) if record.source == ALLSIDES_OPINION)


def load_allsides_news(data_dir: Path) -> Iterator[Record]:
    """News articles of the AllSides corpus (NPR, Reuters, AP, Washington Times ...)."""
    return (record for record in load_allsides(data_dir) if record.source == ALLSIDES_NEWS)


EDITORIAL_SOURCES: dict[str, Callable[[Path], Iterator[Record]]] = {
    GLOBE_MAIL: load_globe_mail_opinion,
    BBC: load_bbc,
    ABC_AU: load_abc_au,
    REUTERS: load_reuters,
    BROWN_PRESS: load_brown_press,
    WSJ: load_wsj,
    PROJECT_SYNDICATE: load_project_syndicate,
    STATE_OF_UNION: load_state_of_union,
    ALLSIDES_OPINION: load_allsides_opinion,
    ALLSIDES_NEWS: load_allsides_news,
}


# --- Headlines -----------------------------------------------------------------------------
# The importers above drop every headline: a headline is not paragraph prose, and the
# classifier learns from paragraphs. The page evaluation (training/pages.py) lays a built page
# out under its article's headline, as real pages are; these give each article's headline by
# the group of its records, without changing any record.


# UTF-8 read as cp1252, once or twice: "Prosperity Ã¢â'¬â€œ Not Politicians" (some AllSides titles).
_MOJIBAKE = re.compile("Ã|Â|â€|â'")


def _titles(source: str, pairs: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """``(record group, headline)`` for headlines with a word, none naming a held-out outlet
    and none garbled in encoding."""
    for group, title in pairs:
        title = _tidy(title)
        if _ALNUM.search(title) and not names_held_out_outlet(title) and not _MOJIBAKE.search(title):
            yield f"{source}:{group}", title


def bbc_titles(data_dir: Path) -> Iterator[tuple[str, str]]:
    """Each BBC article's headline, the file's first line (the files ``load_bbc`` reads)."""
    root = Path(data_dir) / "bbc_news" / "bbc"
    seen_texts: set[str] = set()
    pairs = []
    for path in sorted(root.glob("*/*.txt")):
        text = html.unescape(read_text(path))
        if text in seen_texts:
            continue
        seen_texts.add(text)
        pairs.append((path.relative_to(root).as_posix(), text.partition("\n")[0]))
    return _titles(BBC, pairs)


def abc_au_titles(data_dir: Path) -> Iterator[tuple[str, str]]:
    """Each ABC story's headline, the first line of its first block (see ``load_abc_au``)."""
    pairs = [(group, lines[0]) for group, lines, opens in _abc_blocks(data_dir) if opens]
    return _titles(ABC_AU, pairs)


def globe_mail_titles(data_dir: Path) -> Iterator[tuple[str, str]]:
    """Each Globe and Mail article's headline (Factiva's HD field, the page's title)."""
    pairs: dict[str, str] = {}
    for article in _globe_articles(data_dir):
        # The pages' titles end on the site's name: "... - The Globe and Mail".
        title = strip_html(article.title).removesuffix(" - The Globe and Mail")
        if title.strip():
            pairs.setdefault(article.article_id, title)
    return _titles(GLOBE_MAIL, pairs.items())


def allsides_titles(data_dir: Path) -> Iterator[tuple[str, str]]:
    """Each AllSides article's title, under its source (opinion or news)."""
    root = Path(data_dir) / "allsides_article_bias"
    with (root / "manifest_staged.csv").open(encoding="utf-8", newline="") as handle:
        staged = list(csv.DictReader(handle))
    for row in staged:
        article = json.loads(read_text(root / row["path"]))
        source = ALLSIDES_OPINION if row["bucket"].startswith("op_") else ALLSIDES_NEWS
        yield from _titles(source, [(article["ID"], article.get("title") or "")])


# Sources whose raw files carry headlines. Not here: Reuters (its titles are shouted wire slugs,
# "BAHIA COCOA REVIEW"), the State of the Union (a title of the occasion, in capitals), Brown
# (a sample's headlines head several stories), WSJ and Project Syndicate (none kept in the files).
EDITORIAL_TITLES: dict[str, Callable[[Path], Iterator[tuple[str, str]]]] = {
    BBC: bbc_titles,
    ABC_AU: abc_au_titles,
    GLOBE_MAIL: globe_mail_titles,
    ALLSIDES_OPINION: allsides_titles,
    ALLSIDES_NEWS: allsides_titles,
}
