"""Tests for the fourth-batch importers (AllSides, Kaggle insults, Us vs. Them, Disqus, UC Davis).

Each fixture is written in the test, in the exact shape of its raw file: CRLF line endings,
quoted and unicode-escaped Kaggle rows, the AllSides JSON files with their manifest, the
Disqus CSVs with an index column and differing label columns.
"""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from collections import Counter
from pathlib import Path

import pytest

from training.records import COMMENT, EDITORIAL
from training.sources.comments import (
    load_disqus_rightwing,
    load_kaggle_insults,
    load_reddit_incivility,
    load_usvsthem,
)
from training.sources.editorial import allsides_titles, load_allsides, load_allsides_news, load_allsides_opinion


def write(path: Path, data: str | bytes) -> None:
    """Write a fixture file as given (str as UTF-8), creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def csv_text(rows: list[list[str]], line_end: str = "\r\n") -> str:
    """Rows as CSV text, quoted as the csv module quotes them."""
    out = io.StringIO()
    csv.writer(out, lineterminator=line_end).writerows(rows)
    return out.getvalue()


def texts(records) -> list[str]:
    return [record.text for record in records]


# Checked independently of the importers' own pattern: these must never reach training.
HELD_OUT_NAMES = re.compile(
    r"(?i:new york times|\bnyt\b|washington post|usa today|\bpolitico\b|breitbart|fox news"
    r"|al jazeera|huffpost|huffington post|western journal)|\bGuardian\b|\bFox\b"
)


# --- AllSides -----------------------------------------------------------------------------

LONG = "and the council will meet again next week to decide what comes after the vote"


def allsides_article(article_id: str, title: str, lines: list[str]) -> str:
    content = "\n\n".join(lines)
    return json.dumps(
        {
            "topic": "politics",
            "source": "Some Outlet",
            "bias": 1,
            "url": f"https://example.com/{article_id}",
            "title": title,
            "date": "2019-10-17",
            "authors": "A. Writer",
            "content": " , ".join(content.split()),  # the tokenised copy, never to be used
            "content_original": content,
            "source_url": "example.com",
            "bias_text": "center",
            "ID": article_id,
        }
    )


def make_allsides(root: Path) -> None:
    folder = root / "allsides_article_bias"
    furniture = "Get the Monitor Stories you care about delivered to your inbox every day"
    articles = {
        ("op1", "op_cnn"): (
            "Why the vote matters",
            [
                "Story highlights Jane Roe says the vote is a turning point for the city council",
                "The council ignored its own rules for years and years on end",
                "Jane Roe is a columnist for the Daily Planet. The opinions expressed in this "
                "commentary are her own.",
                f"I have watched this council for twenty years, {LONG}.",
                f"I have watched this council for twenty years, {LONG}.",  # repeated paragraph
                "Too short to keep.",
                f"As the New York Times reported, {LONG}.",
                furniture,
                "Enlarge this image toggle caption Jane Doe for the Daily Planet at the meeting",
            ],
        ),
        ("op2", "op_townhall_col"): (
            "A second column",
            [
                "The opinions expressed by columnists are their own and do not represent "
                "the views of Townhall.com.",
                f"We should all be worried about what comes next, {LONG}.",
                furniture,
                "COPYRIGHT 2019 CREATORS.COM, distributed by Creators Syndicate for all papers.",
                f"Nobody who watched Fox News last night could doubt it, {LONG}.",
            ],
        ),
        ("news1", "news_reuters"): (
            "Council votes",
            [
                f"WASHINGTON (Reuters) - The city council voted on Thursday, {LONG}.",
                "Slideshow (3 Images) of the council meeting on Thursday in the capital",
                furniture,
                f"The Guardian's correspondent said {LONG}.",
                f"The mayor said she welcomed the decision, {LONG}.",
            ],
        ),
        ("hill1", "news_thehill"): (
            "Turmoil takes toll",
            [
                "President Trump Donald John TrumpGOP senators balk at lengthy trial Warren "
                "goes local MORE says he thrives on conflict, but lawmakers worry.",
                f"Lawmakers said on Wednesday that {LONG}.",
                "Follow Jane Roe on Twitter for more news from the council chamber today",
            ],
        ),
        ("news2", "news_npr"): (
            "Headline echoed as the first line of the page",
            ["Headline echoed as the first line of the page", f"Reporters said {LONG}."],
        ),
    }
    manifest = [["path", "bucket", "source", "domain", "date", "url"]]
    for (article_id, bucket), (title, lines) in articles.items():
        path = f"data/jsons/{article_id}.json"
        write(folder / path, allsides_article(article_id, title, lines))
        manifest.append([path, bucket, "Outlet", "example.com", "2019-10-17", "https://x"])
    write(folder / "manifest_staged.csv", csv_text(manifest, "\n"))


def test_allsides_buckets_groups_and_furniture(tmp_path):
    make_allsides(tmp_path)
    records = list(load_allsides(tmp_path))
    assert all(r.label == EDITORIAL for r in records)
    by_source = {
        source: [(r.text, r.group) for r in records if r.source == source]
        for source in ("allsides_opinion", "allsides_news")
    }
    assert by_source["allsides_opinion"] == [
        # CNN highlights, bullets and bio gone; the repeat kept once; short line dropped.
        (f"I have watched this council for twenty years, {LONG}.", "allsides_opinion:op1"),
        # Townhall disclaimer, Creators copyright and the Fox News paragraph gone.
        (f"We should all be worried about what comes next, {LONG}.", "allsides_opinion:op2"),
    ]
    assert by_source["allsides_news"] == [
        # Dateline stripped; Slideshow and the Guardian paragraph gone; furniture in 3 articles gone.
        (f"The city council voted on Thursday, {LONG}.", "allsides_news:news1"),
        (f"The mayor said she welcomed the decision, {LONG}.", "allsides_news:news1"),
        # The Hill's link card paragraph and the Twitter prompt dropped.
        (f"Lawmakers said on Wednesday that {LONG}.", "allsides_news:hill1"),
        # NPR's headline echo dropped.
        (f"Reporters said {LONG}.", "allsides_news:news2"),
    ]
    assert [r.text for r in load_allsides_opinion(tmp_path)] == [t for t, _ in by_source["allsides_opinion"]]
    assert [r.text for r in load_allsides_news(tmp_path)] == [t for t, _ in by_source["allsides_news"]]


def test_allsides_titles_by_source_and_group(tmp_path):
    make_allsides(tmp_path)
    assert sorted(allsides_titles(tmp_path)) == [
        ("allsides_news:hill1", "Turmoil takes toll"),
        ("allsides_news:news1", "Council votes"),
        ("allsides_news:news2", "Headline echoed as the first line of the page"),
        ("allsides_opinion:op1", "Why the vote matters"),
        ("allsides_opinion:op2", "A second column"),
    ]


def test_allsides_keeps_a_line_repeated_in_only_two_articles(tmp_path):
    make_allsides(tmp_path)
    shared = f"The same long sentence appears in two articles only, {LONG}."
    folder = tmp_path / "allsides_article_bias" / "data" / "jsons"
    for article_id in ("a", "b"):
        write(folder / f"{article_id}.json", allsides_article(article_id, "T", [shared]))
    with (tmp_path / "allsides_article_bias" / "manifest_staged.csv").open("a") as handle:
        handle.write("data/jsons/a.json,op_salon,S,s.com,,u\ndata/jsons/b.json,op_salon,S,s.com,,u\n")
    kept = [r.group for r in load_allsides(tmp_path) if r.text == shared]
    assert kept == ["allsides_opinion:a", "allsides_opinion:b"]


# --- Kaggle insults -----------------------------------------------------------------------

KAGGLE_ROWS = [
    r'1,20120618192155Z,"""You fuck your dad."""',
    r'0,20120528192215Z,"""i really do not understand your point.\xa0 It seems that you are mixing."""',
    r'0,,"""A\\xc2\\xa0majority of Canadians can be wrong.\\n\\nUnless you agree, sorry."""',
    r'0,20120601000000Z,"""That\u2019s what they always say about Fox News viewers."""',
    r'0,20120602000000Z,"""Kh\u00f4ng c\u00f3 g\u00ec qu\u00fd h\u01a1n \u0111\u1ed9c l\u1eadp t\u1ef1 do"""',
]


def test_kaggle_insults_decoding_and_filters(tmp_path):
    folder = tmp_path / "kaggle_insults_impermium"
    pasted = " ".join(["word"] * 301)
    write(folder / "train.csv", "\r\n".join(["Insult,Date,Comment", *KAGGLE_ROWS]) + "\r\n")
    write(folder / "test_with_solutions.csv",
          "Insult,Date,Comment,Usage\r\n"
          f'0,,"""{pasted}""",PublicTest\r\n'
          '0,,"""See http://example.com/x for proof, moron.""",PublicTest\r\n')
    write(folder / "impermium_verification_labels.csv",
          "Insult,Date,Comment,Usage\r\n"
          '1,20120618192155Z,"""You fuck your dad.""",PrivateTest\r\n')  # also in train
    records = list(load_kaggle_insults(tmp_path))
    assert all(r.label == COMMENT and r.source == "kaggle_insults" for r in records)
    assert [(r.text, r.group) for r in records] == [
        ("You fuck your dad.", "kaggle_insults:train:0"),
        ("i really do not understand your point.\xa0 It seems that you are mixing.",
         "kaggle_insults:train:1"),
        # Double-escaped UTF-8 bytes become one no-break space; "\\n" real line breaks.
        ("A\xa0majority of Canadians can be wrong.\n\nUnless you agree, sorry.",
         "kaggle_insults:train:2"),
        # The 301-word paste and the Vietnamese row are dropped; the URL goes.
        ("See  for proof, moron.", "kaggle_insults:test_with_solutions:1"),
    ]


# --- Us vs. Them --------------------------------------------------------------------------

USVSTHEM_HEADER = (
    ",body,usVSthem_scale,is_Disc_Crit,group,bias,Anger,Contempt,Disgust,Fear,Gratitude,Guilt,"
    "Happiness,Hope,Pride,Relief,Sadness,Sympathy,Emotions_Neutral,allsides_name"
)


def usvsthem_row(index: int, body: str, outlet: str) -> list[str]:
    return [str(index), body, "0.5", "True", "Liberals", "left", *["False"] * 13, outlet]


def test_usvsthem_drops_held_out_outlets_quotes_and_urls(tmp_path):
    folder = tmp_path / "usvsthem_reddit" / "USvsTHEM"
    train = [
        usvsthem_row(0, "&gt; The article says taxes rise.\n\nNo they &amp; won't, "
                        "read [the bill](https://example.com/bill) **carefully**.", "Reuters"),
        usvsthem_row(1, "Typical spin from this outlet, as always.", "Fox News Editorial"),
        usvsthem_row(2, "Ask <masked_user> about it, he knows https://t.co/x", "The Hill"),
        usvsthem_row(3, "X-Post referenced from [/r/news](http://np.reddit.com/r/news) by x",
                     "Vox"),
    ]
    header = next(csv.reader([USVSTHEM_HEADER]))
    write(folder / "UsVsThem_train_public.csv", csv_text([header, *train], "\n"))
    write(folder / "UsVsThem_valid_public.csv",
          csv_text([header, usvsthem_row(0, "Liberals never learn.", "Breitbart News")], "\n"))
    write(folder / "UsVsThem_test_public.csv",
          csv_text([header, usvsthem_row(0, "Conservatives never learn.", "Salon")], "\n"))
    records = list(load_usvsthem(tmp_path))
    assert all(r.source == "usvsthem_reddit" for r in records)
    got = [(r.text, r.group) for r in records]
    assert got[0] == ("No they & won't, read the bill carefully.", "usvsthem_reddit:train:0")
    assert got[1][1] == "usvsthem_reddit:train:2"
    assert re.fullmatch(r"Ask [A-Z][a-z]+ about it, he knows", got[1][0])
    assert got[1][0] == list(load_usvsthem(tmp_path))[1].text  # the same name on every run
    assert got[2] == ("Conservatives never learn.", "usvsthem_reddit:test:0")
    assert len(got) == 3


# --- Disqus -------------------------------------------------------------------------------


def disqus_file(username: str, label_columns: list[str], rows: list[tuple[str, str]]) -> str:
    header = ["", "Site Name", "Article Name", "Article Date", "Total Article Comments",
              "Article URL", "Username", "Comments", *label_columns, "Upvotes", "Downvotes"]
    body = [
        [str(i), site, "An article", "['2020/08/09']", "120", "https://example.com/a",
         username, comment, *[""] * len(label_columns), "3", "0"]
        for i, (site, comment) in enumerate(rows)
    ]
    return csv_text([header, *body])


def test_disqus_site_filter_cap_and_commenter_groups(tmp_path):
    folder = tmp_path / "disqus_rightwing_comments" / "data"
    write(folder / "alice.csv", disqus_file("Alice", ["Hate?", "Flag??", "Responding to"], [
        ("The Gateway Pundit", "First thing Alice says about the news."),
        ("Breitbart News Network", "Alice on a held-out site."),
        ("Townhall", "Second thing Alice says, see https://example.com/x"),
        ("RedState", "Third thing Alice says about the news."),
        ("Townhall", "First thing Alice says about the news!"),  # a repeat, punctuation aside
    ]))
    # A file whose stray byte is Mac-Roman (0xD5 is ’), and with other label columns.
    bob = disqus_file("Bob", ["Ordinary/Hate/Offensive?"], [("Twitchy", "That\x00s right, Bob says.")])
    write(folder / "bob.csv", bob.encode("utf-8").replace(b"\x00", b"\xd5"))

    records = list(load_disqus_rightwing(tmp_path))
    by_user = Counter(r.group for r in records)
    assert by_user == {"disqus_rightwing:Alice": 3, "disqus_rightwing:Bob": 1}
    assert "That’s right, Bob says." in texts(records)
    assert "Second thing Alice says, see" in texts(records)
    assert not any("held-out" in text for text in texts(records))

    capped = list(load_disqus_rightwing(tmp_path, cap_per_user=2))
    assert Counter(r.group for r in capped) == {"disqus_rightwing:Alice": 2, "disqus_rightwing:Bob": 1}
    assert texts(capped) == texts(load_disqus_rightwing(tmp_path, cap_per_user=2))
    assert set(texts(capped)) <= set(texts(records))


# --- Reddit incivility (UC Davis) ---------------------------------------------------------


def test_reddit_incivility_mojibake_markup_and_bots(tmp_path):
    rows = [
        ["comment", "correction"],
        ["\n\nHave you ever felt you weren‚Äôt able to help?", "0"],
        ["&gt; quoted line from the parent\n\nThis is **my** reply, *really*.", "1"],
        ["\n*2,355,774 MemeCoins invested @ 75 upvotes*", "0"],
        ["\n#***Achievement get: The lie***", "0"],
        ["Can I see? \uf8ffüòÄ", "0"],
        ["I am a bot, and this action was performed automatically.", "0"],
        ["Café society, ½ price.", "0"],
    ]
    write(tmp_path / "reddit_incivility_ucdavis" / "incivility_coded_0302.csv", csv_text(rows))
    records = list(load_reddit_incivility(tmp_path))
    assert all(r.source == "reddit_incivility" for r in records)
    assert [(r.text, r.group) for r in records] == [
        ("Have you ever felt you weren’t able to help?", "reddit_incivility:0"),
        ("This is my reply, really.", "reddit_incivility:1"),
        ("Can I see? 😀", "reddit_incivility:4"),
        ("Café society, ½ price.", "reddit_incivility:6"),  # real accents stay as written
    ]


def test_reddit_markup_cleaning_is_linear_on_long_input(tmp_path):
    # A 20,000-character worst case of unclosed links, stars and quote marks.
    nasty = ("[" * 5000) + ("*(" * 5000) + ("&gt;" * 1000)
    rows = [["comment", "correction"], [nasty, "0"], ["A plain reply after it.", "0"]]
    write(tmp_path / "reddit_incivility_ucdavis" / "incivility_coded_0302.csv", csv_text(rows))
    assert texts(load_reddit_incivility(tmp_path))[-1] == "A plain reply after it."


# --- Real data ----------------------------------------------------------------------------

REAL = {
    # source: (loader, lowest count, highest count); measured 2026-12 on ../shared/data.
    "allsides_opinion": (load_allsides_opinion, 20_000, 30_000),
    "allsides_news": (load_allsides_news, 11_000, 18_000),
    "kaggle_insults": (load_kaggle_insults, 8_000, 8_800),
    "usvsthem_reddit": (load_usvsthem, 4_500, 5_400),
    "disqus_rightwing": (load_disqus_rightwing, 5_000, 14 * 600),
    "reddit_incivility": (load_reddit_incivility, 4_500, 5_000),
}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_batch4_counts_and_no_held_out_outlet(data_dir, name):
    load, low, high = REAL[name]
    records = list(load(data_dir))
    assert low <= len(records) <= high, (name, len(records))
    assert all(r.source == name and r.group.startswith(f"{name}:") for r in records)
    assert statistics.median(len(r.text.split()) for r in records) >= 8
    for record in records:
        assert not HELD_OUT_NAMES.search(record.text), record.text[:200]
    if name == "disqus_rightwing":
        assert max(Counter(r.group for r in records).values()) <= 600
    if name.startswith("allsides"):
        assert min(len(r.text.split()) for r in records) >= 8
    else:
        assert not any(re.search(r"(?m)^\s*(?:> |&gt;)|https?://|‚Äô|\\x[0-9a-f]{2}", r.text)
                       for r in records)
