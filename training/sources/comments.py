"""Importers for the reader-comment corpora: one loader per source, each yielding Records.

Each loader takes the data folder (the one holding `socc_c3/`, `goemotions_reddit/` ...) and
does only the cleaning its source needs: markup, masked placeholders, handles, Usenet
headers and signatures, broken rows. Typography folding, lowercasing and the length cut are
left to the central normaliser. Within a source a repeat of an earlier text (same words
once case, spacing and punctuation are ignored) is skipped, so one text never sits in two
groups and leaks across a leave-group-out split.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from training.records import COMMENT, Record
from training.sources.common import (
    names_held_out_outlet,
    read_text,
    read_utf8_mac_roman,
    strip_html,
    undo_mojibake,
    word_count,
)


def _duplicate_key(text: str) -> str:
    """What two copies of a comment share even when scraped twice (quotes, spacing, case)."""
    return re.sub(r"\W+", "", text.casefold()) or text


def _records(source: str, items: Iterable[tuple[str, str]]) -> Iterator[Record]:
    """Turn (text, group id) pairs into stripped, non-empty, first-seen comment Records."""
    seen: set[str] = set()
    for text, group in items:
        text = text.strip()
        key = _duplicate_key(text)
        if word_count(text) == 0 or key in seen:
            continue
        seen.add(key)
        yield Record(text=text, label=COMMENT, source=source, group=f"{source}:{group}")


def _csv_dicts(path: Path) -> csv.DictReader:
    """Rows of a CSV file as dicts; newline="" keeps line breaks inside quoted fields."""
    return csv.DictReader(io.StringIO(read_text(path), newline=""))


def _csv_rows(path: Path, delimiter: str = ",") -> Iterator[list[str]]:
    """Rows of a CSV (or TSV) file as lists of fields."""
    return csv.reader(io.StringIO(read_text(path), newline=""), delimiter=delimiter)


def _stable_pick(options: tuple[str, ...], text: str, index: int) -> str:
    """Pick an option from the text itself, so every run (and every machine) agrees."""
    # crc32 rather than hash(): str hashes are salted per process.
    return options[zlib.crc32(f"{index}:{text}".encode("utf-8")) % len(options)]


# --- Globe and Mail -----------------------------------------------------------------------

_GLOBE_SUFFIX = re.compile(r"\s+-\s+The Globe and Mail\s*$")
# A paragraph break lost in scraping glues "error?Not": a lowercase-punctuation-capital join is
# common in every Globe and Mail subset and rare in Reddit, so all Globe and Mail subsets carry
# the artefact.
_GLUED = re.compile(r"([a-z0-9)][.?!]+)([A-Z])")
_GLUED_TOKEN = re.compile(r"(?<!\S)(?=\S*[a-z0-9)][.?!]+[A-Z])\S+")
# Tokens where the same shape is legitimate ("page.aspx?Language=E", e-mail addresses).
_URLISH = re.compile(r"://|www\.|[/=@]|\.(?:com|ca|org|net|gov)\b", re.IGNORECASE)


def _respace(text: str) -> str:
    """Put back the space a lost paragraph break removed ("error?Not" -> "error? Not")."""

    def fix(token: re.Match[str]) -> str:
        word = token.group()
        return word if _URLISH.search(word) else _GLUED.sub(r"\1 \2", word)

    return _GLUED_TOKEN.sub(fix, text)


def _globe_text(text: str) -> str:
    """Source-specific cleaning shared by every Globe and Mail comment file."""
    return _respace(strip_html(text.replace("\r\n", "\n").replace("\r", "\n")))


def _walk_replies(comments: list[dict]) -> Iterator[dict]:
    """Every comment of a nested JSON thread, parents before their replies."""
    for comment in comments:
        yield comment
        yield from _walk_replies(comment.get("replies") or [])


def load_globe_mail_comments(data_dir: Path) -> Iterator[Record]:
    """Globe and Mail reader comments: C3, CTC, the extractor's sample CSVs and JSON threads."""

    def items() -> Iterator[tuple[str, str]]:
        # C3 and the extractor share Globe article ids, so a thread keeps one group.
        for row in _csv_dicts(data_dir / "socc_c3" / "C3_anonymized.csv"):
            yield _globe_text(row["comment_text"]), row["article_id"]
        # CTC has no article id; its titles come with and without the site suffix.
        for row in _csv_dicts(data_dir / "socc_ctc" / "SFU_constructiveness_toxicity.csv"):
            title = _GLOBE_SUFFIX.sub("", row["title"]).strip()
            yield _globe_text(row["comment"]), f"title:{title}"
        extractor = data_dir / "gnm_sfu_comment_extractor"
        for path in sorted((extractor / "Sample_Resources" / "Sample_Comments_CSVs").glob("*.csv")):
            for row in _csv_dicts(path):
                yield _globe_text(row["text"]), row["article_id"]
        for path in sorted((extractor / "Output" / "CommentsRawData").glob("article_*_comments.json")):
            article_id = path.name.removeprefix("article_").removesuffix("_comments.json")
            for thread in json.loads(read_text(path)).values():
                for comment in _walk_replies(thread.get("comments") or []):
                    yield _globe_text(comment.get("commentText") or ""), article_id

    yield from _records("globe_mail_comments", items())


# --- 4forums (Sarcasm Corpus V2) ----------------------------------------------------------

_EMOTICON_NAMES = (
    "rolleyes|good|angel|donno|banghead|wow|confused|clown|smilie|frazzled|bouncer|hoho|kill"
    "|chicken|bye|censored|cry|love|agree|idea|ic|embarrassed|cool|angry|mad|birthdaycake"
)
# The forum software wrote smilies as tokens, sometimes glued to each other or to the next
# word ("emoticonXWowYou", "emoticonxkillemoticonxclown"), in three spellings.
_EMOTICON = f"emoticon_?x?(?:{_EMOTICON_NAMES})"
_EMOTICON_BEFORE_PUNCT = re.compile(rf"[ \t]*(?:{_EMOTICON})+(?=[.,;:!?)])", re.IGNORECASE)
_EMOTICON_RUN = re.compile(rf"[ \t]*(?:{_EMOTICON})+[ \t]*", re.IGNORECASE)


def _strip_emoticons(text: str) -> str:
    """Remove emoticon tokens, leaving one space where they separated words."""
    return _EMOTICON_RUN.sub(" ", _EMOTICON_BEFORE_PUNCT.sub("", text))


def load_4forums(data_dir: Path) -> Iterator[Record]:
    """4forums.com debate posts from Sarcasm Corpus V2 (GEN, HYP, RQ), deduplicated across files."""

    def items() -> Iterator[tuple[str, str]]:
        for part in ("GEN", "HYP", "RQ"):
            # Ids restart in every file, hence the file in the group.
            for row in _csv_dicts(data_dir / "sarcasm_corpus_v2" / f"{part}-sarc-notsarc.csv"):
                text = strip_html(row["text"].replace("\r\n", "\n"))
                yield _strip_emoticons(text), f"{part}:{row['id']}"

    yield from _records("4forums", items())


# --- Reddit (GoEmotions) ------------------------------------------------------------------

_FIRST_NAMES = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Chris", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Emily",
    "Mark", "Ashley", "Steven", "Emma", "Paul", "Laura", "Andrew", "Rachel", "Josh", "Anna",
    "Kevin", "Amy", "Brian", "Megan", "Ryan", "Hannah", "Jason", "Olivia", "Eric", "Kate",
    "Jacob", "Sophie", "Tyler", "Maria",
)
# Adjective-and-noun words, since the mask stands for both ("a [RELIGION] person", "in [RELIGION]").
_RELIGIONS = (
    "Christian", "Catholic", "Muslim", "Hindu", "Buddhist", "Mormon", "Protestant", "Sikh",
    "Baptist", "Methodist",
)
_MASK = re.compile(r"\[(NAME|RELIGION)\]")


def _unmask(text: str) -> str:
    """Replace GoEmotions' [NAME] / [RELIGION] masks with plausible words, stably."""
    counter = itertools.count()

    def fill(mask: re.Match[str]) -> str:
        options = _FIRST_NAMES if mask.group(1) == "NAME" else _RELIGIONS
        return _stable_pick(options, text, next(counter))

    return _MASK.sub(fill, text)


def load_reddit(data_dir: Path) -> Iterator[Record]:
    """Reddit comments from GoEmotions (train, dev, test); one group per comment id."""

    def items() -> Iterator[tuple[str, str]]:
        for split in ("train", "dev", "test"):
            for text, _emotions, comment_id in _csv_rows(
                data_dir / "goemotions_reddit" / f"{split}.tsv", delimiter="\t"
            ):
                yield _unmask(text), comment_id

    yield from _records("reddit", items())


# --- YouTube ------------------------------------------------------------------------------


def load_youtube(data_dir: Path) -> Iterator[Record]:
    """Ham comments of the YouTube Spam Collection; one group per video (file)."""

    def items() -> Iterator[tuple[str, str]]:
        for path in sorted((data_dir / "youtube_spam_collection").glob("Youtube0*.csv")):
            for row in _csv_dicts(path):
                if row["CLASS"].strip() == "0":
                    # Every comment ends in a byte-order mark, U+FEFF, which strip() keeps.
                    yield strip_html(row["CONTENT"]).replace("\ufeff", ""), path.stem

    yield from _records("youtube", items())


# --- Twitter ------------------------------------------------------------------------------

_LEADING_MENTIONS = re.compile(r"^\s*(?:\.?@\w+:?[ \t\n,]*)+")
_URL = re.compile(r"https?://\S+")
_COORDINATES = re.compile(r"\[-?\d[\d.]*, -?\d[\d.]*\]")


def _tweet_text(text: str) -> str:
    """Unescape entities, then drop the reply handles in front and every URL."""
    text = _URL.sub("", strip_html(text))
    return _LEADING_MENTIONS.sub("", text)


def _airline_text(row: list[str]) -> str | None:
    """The tweet of one Tweets.csv row, re-joined when Kaggle split it; None if unrecoverable."""
    text_at, created_at = 10, 12
    if row[created_at].startswith("2015"):
        return row[text_at]
    # The ";" of "&amp;" / "&lt;" / "&gt;" became a field break and pushed the tail of the
    # tweet into the next columns; the first column that starts with a 2015 date is
    # tweet_created, and the one before it is tweet_coord ("" or "[lat, lon]"), unless
    # the export dropped that column too.
    for end in range(created_at + 1, len(row)):
        if row[end].startswith("2015"):
            pieces = row[text_at:end]
            if pieces[-1] == "" or _COORDINATES.fullmatch(pieces[-1]):
                pieces = pieces[:-1]
            return ";".join(pieces)
    return None  # no date left to anchor on: the text boundary is unknown


def load_twitter_airline(data_dir: Path) -> Iterator[Record]:
    """Tweets to US airlines (Figure Eight); broken rows repaired; one group per user."""

    def items() -> Iterator[tuple[str, str]]:
        rows = _csv_rows(data_dir / "twitter_airline_sentiment" / "Tweets.csv")
        header = next(rows)
        name_at = header.index("name")
        for row in rows:
            text = _airline_text(row)
            if text is not None:
                yield _tweet_text(text), row[name_at]

    yield from _records("twitter_airline", items())


def load_twitter_isarcasm(data_dir: Path) -> Iterator[Record]:
    """iSarcasmEval English tweets (train `tweet`, test `text`); one group per row."""

    def items() -> Iterator[tuple[str, str]]:
        folder = data_dir / "isarcasmeval_tweets"
        # `rephrase` is a paraphrase written on request, not a real post.
        for i, row in enumerate(_csv_dicts(folder / "train.En.csv")):
            yield _tweet_text(row["tweet"]), f"train:{i}"
        for i, row in enumerate(_csv_dicts(folder / "task_A_En_test.csv")):
            yield _tweet_text(row["text"]), f"test:{i}"

    yield from _records("twitter_isarcasm", items())


# --- Review sentences (UCI) ---------------------------------------------------------------

_REVIEW_BLOCK = 50  # lines per group: the files give no review id


def _review_sentences(path: Path) -> Iterator[tuple[str, str]]:
    """(sentence, block) pairs of one `sentence<TAB>score` file."""
    for i, line in enumerate(read_text(path).splitlines()):
        sentence, _tab, _score = line.rpartition("\t")
        yield strip_html(sentence), str(i // _REVIEW_BLOCK)  # one "&amp;" in Amazon


def load_amazon_reviews(data_dir: Path) -> Iterator[Record]:
    """Amazon review sentences (cell-phone accessories), grouped in blocks of 50 lines."""
    path = data_dir / "review_sentences_uci" / "amazon_cells_labelled.txt"
    yield from _records("amazon_reviews", _review_sentences(path))


def load_imdb_reviews(data_dir: Path) -> Iterator[Record]:
    """IMDb review sentences, grouped in blocks of 50 lines."""
    path = data_dir / "review_sentences_uci" / "imdb_labelled.txt"
    yield from _records("imdb_reviews", _review_sentences(path))


def load_yelp_reviews(data_dir: Path) -> Iterator[Record]:
    """Yelp review sentences, grouped in blocks of 50 lines."""
    path = data_dir / "review_sentences_uci" / "yelp_labelled.txt"
    yield from _records("yelp_reviews", _review_sentences(path))


# --- Usenet (20 Newsgroups, talk.*) -------------------------------------------------------

# Quote prefixes seen in these groups: ">", ":>", "|>", ": ", "# ", "}", "+>", "->", "ED>", "@>".
_QUOTED = re.compile(r"^\s*(?:[>|}]|[:#](?=[\s>|]|$)|[+-]>|[A-Za-z@]{1,3}>)")
# "In article <id> x@y writes:", "From article <id>, by x@y (Name):", "x@y (Name) says:" ...
_ATTRIBUTION = re.compile(
    r"^\s*(?:In (?:article\s+)?<|In article \S+@|In a previous article|From article\s*<"
    r"|As quoted from\s*<)|(?:writes|wrote)\s*:\s*$|^.*(?:\S@\S|<\S+@\S+>).*:\s*$",
    re.IGNORECASE,
)
# Header lines of a forwarded or reposted message pasted into the body.
_PASTED_HEADER = re.compile(
    r"^\s*(?:From|Subject|Date|Organization|Newsgroups|Message-ID|Lines|Distribution|Keywords"
    r"|Summary|Path|Reply-To|Sender|Nntp-Posting-Host|References|Followup-To):\s",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*(?:[-=_*~]\s*){3,}$")  # a drawn line: a block boundary
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_SENTENCE_END = re.compile(r"[a-z0-9][.?!]$|[?!]$")
_SUBJECT = re.compile(r"^Subject:[ \t]*(.*)$", re.MULTILINE | re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^(?:re(?:\^\d+)?\s*:\s*)+", re.IGNORECASE)


def _is_contact_block(block: list[str]) -> bool:
    """A block of e-mail addresses, phone numbers or ASCII art: a signature's core."""
    joined = " ".join(block)
    visible = joined.replace(" ", "")
    return bool(_EMAIL.search(joined)) or sum(ch.isalnum() for ch in visible) < 0.5 * len(visible)


def _is_sign_off(block: list[str]) -> bool:
    """A bare name or farewell ("Adam", "Cheers,\nKent"): short lines closing no sentence."""
    return len(block) <= 4 and (
        sum(len(line.split()) for line in block) <= 2
        or all(len(line) <= 40 and not _SENTENCE_END.search(line) for line in block)
    )


def _drop_signature(blocks: list[list[str]]) -> list[list[str]]:
    """Remove a signature given without the "-- " delimiter; never the first block."""
    # A contact block may be followed by a quip or quote; look a few short blocks back.
    start, lines = len(blocks), 0
    while start > 1 and len(blocks) - start < 4 and lines + len(blocks[start - 1]) <= 8:
        start -= 1
        lines += len(blocks[start])
    for i in range(start, len(blocks)):
        if _is_contact_block(blocks[i]):
            blocks = blocks[:i]
            break
    while len(blocks) > 1 and _is_sign_off(blocks[-1]):
        blocks = blocks[:-1]
    return blocks


def _clean_usenet(post: str) -> str:
    """The author's own words of one post: no headers, quotes, attributions or signature."""
    _header, _blank, body = post.replace("\r\n", "\n").partition("\n\n")
    lines = [
        line.rstrip()
        for line in body.split("\n")
        if not (_QUOTED.match(line) or _ATTRIBUTION.search(line) or _PASTED_HEADER.match(line))
    ]
    # "-- " is the standard signature delimiter; take the last one, since quotes are gone.
    cuts = [i for i, line in enumerate(lines) if line.strip() == "--"]
    if cuts:
        lines = lines[: cuts[-1]]
    blocks: list[list[str]] = [[]]
    for line in lines:
        if not line.strip() or _RULE.match(line):
            blocks.append([])
        else:
            blocks[-1].append(line.strip())
    blocks = [block for block in blocks if block]
    # sklearn's footer rule (cut after the last blank line) would drop real last paragraphs.
    blocks = _drop_signature(blocks)
    # Hard-wrapped lines are one paragraph; paragraphs stay apart.
    return "\n\n".join(" ".join(block) for block in blocks)


def _usenet_thread(post: str, fallback: str) -> str:
    """The thread of a post: its Subject without "Re:", lowercased."""
    header = post.partition("\n\n")[0]
    match = _SUBJECT.search(header)
    subject = _REPLY_PREFIX.sub("", match.group(1).strip()) if match else ""
    return " ".join(subject.lower().split()) or fallback


def load_usenet(data_dir: Path) -> Iterator[Record]:
    """Usenet posts from the talk.* groups of 20 Newsgroups (test split); one group per thread."""

    def items() -> Iterator[tuple[str, str]]:
        root = data_dir / "usenet_20newsgroups_talk" / "20news-bydate-test"
        for path in sorted(root.glob("*/*"), key=lambda p: (p.parent.name, int(p.name))):
            post = read_text(path)
            yield _clean_usenet(post), _usenet_thread(post, f"{path.parent.name}/{path.name}")

    yield from _records("usenet", items())


# --- Shared by the fourth batch -----------------------------------------------------------

# Reddit markup: quoted lines ("> the article said"), links, emphasis, superscript, headings.
_QUOTE_LINE = re.compile(r"^[ \t]*>.*$", re.MULTILINE)
_MD_LINK = re.compile(r"\[([^\[\]\n]*)\]\([^()\s]*\)")
_BARE_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MD_MARKS = re.compile(r"\*+|~~|\^\(?|^[ \t]*#+[ \t]*|^[ \t]*(?:-{3,}|\*{3,})[ \t]*$", re.MULTILINE)
_MD_LEFTOVER = re.compile(r"\]\(\)?|\[(?=[^\[\]\n]*\]\()")
_MD_ESCAPE = re.compile(r"\\(?=[^\w\s])")  # "1\]", "\(Tanzanian"
_MASKED_USER = re.compile(r"<masked_user>", re.IGNORECASE)


def _reddit_text(text: str) -> str:
    """A Reddit comment without quoted lines, URLs and Markdown marks (link text is kept)."""
    # Reddit escaped its entities twice ("&amp;#x200B;", "&amp;nbsp;").
    text = html.unescape(strip_html(text))
    text = _QUOTE_LINE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_LEFTOVER.sub(" ", _BARE_URL.sub("", text))
    return _MD_ESCAPE.sub("", _MD_MARKS.sub("", text))


def _without_held_out(items: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """Drop the comments that name a held-out outlet, so its name never becomes a cue."""
    return ((text, group) for text, group in items if not names_held_out_outlet(text))


# --- Kaggle "Detecting Insults in Social Commentary" (Impermium) -------------------------

KAGGLE_MAX_WORDS = 300  # longer rows are pasted articles (the first test row, Daily Caller)
# Letters only Vietnamese uses among Latin scripts: 18 rows are Vietnamese.
_VIETNAMESE = frozenset("ăđơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")
_VIETNAMESE_SHARE = 0.02
_ESCAPED = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[nrt'\"\\])")


def _unescape_python(text: str) -> str:
    """Decode Python string escapes ("\\n", "\\xa0", "\\u2019"), leaving bad ones as written."""
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape", "backslashreplace")


def _kaggle_text(comment: str) -> str:
    """Decode one Comment field: extra quotes, escapes, double escapes and UTF-8 bytes."""
    if len(comment) >= 2 and comment[0] == comment[-1] == '"':
        comment = comment[1:-1]
    text = _unescape_python(comment)
    if _ESCAPED.search(text):  # double-escaped rows: "\\xc2\\xa0", "\\n"
        text = _unescape_python(text)
    # "\xc2\xa0" decoded to two Latin-1 characters; they are the UTF-8 bytes of U+00A0.
    return undo_mojibake(text, "latin-1")


def _is_vietnamese(text: str) -> bool:
    letters = [char for char in text.casefold() if char.isalpha()]
    marked = sum(char in _VIETNAMESE for char in letters)
    return bool(letters) and marked >= _VIETNAMESE_SHARE * len(letters)


def load_kaggle_insults(data_dir: Path) -> Iterator[Record]:
    """Kaggle/Impermium insult-detection comments (all three files), decoded, deduplicated."""

    def items() -> Iterator[tuple[str, str]]:
        folder = data_dir / "kaggle_insults_impermium"
        for name in ("train", "test_with_solutions", "impermium_verification_labels"):
            for i, row in enumerate(_csv_dicts(folder / f"{name}.csv")):
                text = _BARE_URL.sub("", strip_html(_kaggle_text(row["Comment"])))
                if word_count(text) <= KAGGLE_MAX_WORDS and not _is_vietnamese(text):
                    yield text, f"{name}:{i}"

    yield from _records("kaggle_insults", _without_held_out(items()))


# --- Us vs. Them (Reddit replies to news articles) ----------------------------------------

_CROSSPOST = re.compile(r"^\s*X-Post referenced from", re.IGNORECASE)


def _unmask_users(text: str) -> str:
    """Replace the corpus's <masked_user> placeholder with a first name, stably."""
    counter = itertools.count()
    return _MASKED_USER.sub(lambda _m: _stable_pick(_FIRST_NAMES, text, next(counter)), text)


def load_usvsthem(data_dir: Path) -> Iterator[Record]:
    """Us vs. Them Reddit comments, without rows under held-out outlets; one group per row."""

    def items() -> Iterator[tuple[str, str]]:
        for split in ("train", "valid", "test"):
            path = data_dir / "usvsthem_reddit" / "USvsTHEM" / f"UsVsThem_{split}_public.csv"
            for i, row in enumerate(_csv_dicts(path)):
                # The outlet of the linked article: its readers' quotes of it stay out.
                if names_held_out_outlet(row["allsides_name"]) or _CROSSPOST.match(row["body"]):
                    continue
                yield _unmask_users(_reddit_text(row["body"])), f"{split}:{i}"

    yield from _records("usvsthem_reddit", _without_held_out(items()))


# --- Disqus comment histories of right-wing commenters ------------------------------------

DISQUS_CAP_PER_USER = 600
_DISQUS_TEXT, _DISQUS_SITE, _DISQUS_USER = 7, 1, 6  # the label columns differ by file
_DISQUS_HELD_OUT_SITES = frozenset({"Breitbart News Network"})


def load_disqus_rightwing(
    data_dir: Path, cap_per_user: int = DISQUS_CAP_PER_USER
) -> Iterator[Record]:
    """Disqus comments of 14 users, at most `cap_per_user` each; one group per commenter.

    Grouping by commenter keeps each person's idiolect on one side of a group split; the
    cap keeps the most prolific few from dominating. The sample is chosen by a checksum of
    the text, so every run keeps the same comments.
    """
    by_user: dict[str, dict[str, str]] = {}
    for path in sorted((data_dir / "disqus_rightwing_comments" / "data").glob("*.csv")):
        rows = csv.reader(io.StringIO(read_utf8_mac_roman(path), newline=""))
        next(rows, None)
        for row in rows:
            if len(row) <= _DISQUS_TEXT or row[_DISQUS_SITE].strip() in _DISQUS_HELD_OUT_SITES:
                continue
            text = _BARE_URL.sub("", strip_html(row[_DISQUS_TEXT]))
            user = row[_DISQUS_USER].strip()
            by_user.setdefault(user, {}).setdefault(_duplicate_key(text), text)

    def items() -> Iterator[tuple[str, str]]:
        for user in sorted(by_user):
            texts = [
                text
                for text in by_user[user].values()
                if word_count(text) and not names_held_out_outlet(text)
            ]
            texts.sort(key=lambda text: (zlib.crc32(text.encode("utf-8")), text))
            for text in texts[:cap_per_user]:
                yield text, user

    yield from _records("disqus_rightwing", items())


# --- Reddit incivility (UC Davis) ---------------------------------------------------------

# MemeCoins investment bot, achievement bots, moderator and cross-post bots.
_REDDIT_BOT = re.compile(
    r"MemeCoins|Achievement get|I am a bot|performed automatically|imguralbumbot|gifv-bot"
    r"|^\s*Thank you for posting your|Parent commenter can",
    re.IGNORECASE,
)


def load_reddit_incivility(data_dir: Path) -> Iterator[Record]:
    """UC Davis hand-coded Reddit comments: mojibake repaired, markup and bots dropped."""

    def items() -> Iterator[tuple[str, str]]:
        path = data_dir / "reddit_incivility_ucdavis" / "incivility_coded_0302.csv"
        for i, row in enumerate(_csv_dicts(path)):
            text = undo_mojibake(row["comment"], "mac_roman").replace("\ufffd", "")
            if not _REDDIT_BOT.search(text):
                yield _reddit_text(text), str(i)

    yield from _records("reddit_incivility", _without_held_out(items()))


COMMENT_SOURCES: dict[str, Callable[[Path], Iterator[Record]]] = {
    "globe_mail_comments": load_globe_mail_comments,
    "4forums": load_4forums,
    "reddit": load_reddit,
    "youtube": load_youtube,
    "twitter_airline": load_twitter_airline,
    "twitter_isarcasm": load_twitter_isarcasm,
    "amazon_reviews": load_amazon_reviews,
    "imdb_reviews": load_imdb_reviews,
    "yelp_reviews": load_yelp_reviews,
    "usenet": load_usenet,
    "kaggle_insults": load_kaggle_insults,
    "usvsthem_reddit": load_usvsthem,
    "disqus_rightwing": load_disqus_rightwing,
    "reddit_incivility": load_reddit_incivility,
}
