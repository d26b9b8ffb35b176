"""Tests for training/sources/comments.py: each loader on tiny copies of its real format."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest

from training.records import COMMENT
from training.sources.comments import (
    COMMENT_SOURCES,
    load_4forums,
    load_amazon_reviews,
    load_globe_mail_comments,
    load_imdb_reviews,
    load_reddit,
    load_twitter_airline,
    load_twitter_isarcasm,
    load_usenet,
    load_youtube,
)


def write(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Write a fixture file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def pairs(records) -> list[tuple[str, str]]:
    """(text, group) of each record, after checking the fields every loader shares."""
    records = list(records)
    assert all(r.label == COMMENT for r in records)
    assert len({r.source for r in records}) <= 1
    return [(r.text, r.group) for r in records]


def test_registry_names_every_source():
    assert set(COMMENT_SOURCES) == {
        "globe_mail_comments", "4forums", "reddit", "youtube", "twitter_airline",
        "twitter_isarcasm", "amazon_reviews", "imdb_reviews", "yelp_reviews", "usenet",
        "kaggle_insults", "usvsthem_reddit", "disqus_rightwing", "reddit_incivility",
    }


def test_globe_mail_comments(tmp_path):
    write(tmp_path / "socc_c3" / "C3_anonymized.csv",
          "article_id,comment_author,comment_counter,comment_text,constructive\n"
          "26023945,0,source1_26023945_62,\"Big error?Not surprising.I live in hope.\",1.0\n"
          "26023945,1,source1_26023945_63,\"See gov.ca/x.aspx?Language=E for it.\",0.0\n")
    write(tmp_path / "socc_ctc" / "SFU_constructiveness_toxicity.csv",
          "comment,title,is_constructive\n"
          "\"Uber &amp; taxis, both.\r\nFine.\",Yes to Uber - The Globe and Mail,yes\n"
          "Taxi cartels are bad,Yes to Uber,no\n")
    csvs = tmp_path / "gnm_sfu_comment_extractor" / "Sample_Resources" / "Sample_Comments_CSVs"
    write(csvs / "old_comments.csv",
          "comment_counter,article_id,data_type,text,author\n"
          "source1_14505273_0,14505273,comment,Their 'opposition' is weak.Sad.,morris49\n")
    # The second scrape of the same comment keeps the double quotes: a duplicate.
    write(csvs / "new_comments_preprocessed.csv",
          ",article_id,comment_counter,comment_id,text,text_preprocessed\n"
          "0,14505273,source2_14505273_0,955742_0,Their &quot;opposition&quot; is weak. Sad.,x\n"
          "1,14505273,source2_14505273_1,026472_0,  ,x\n")
    thread = {"28494689": {"data_type": "comment", "comments": [
        {"commentText": "Top level.", "replies": [
            {"commentText": "A reply\non two lines.", "replies": [
                {"commentText": "A reply to the reply.", "replies": None}]}]},
        {"commentText": "Second thread.", "replies": None}]}}
    write(tmp_path / "gnm_sfu_comment_extractor" / "Output" / "CommentsRawData"
          / "article_28494689_comments.json", json.dumps(thread))

    assert pairs(load_globe_mail_comments(tmp_path)) == [
        ("Big error? Not surprising. I live in hope.", "globe_mail_comments:26023945"),
        ("See gov.ca/x.aspx?Language=E for it.", "globe_mail_comments:26023945"),
        ("Uber & taxis, both.\nFine.", "globe_mail_comments:title:Yes to Uber"),
        ("Taxi cartels are bad", "globe_mail_comments:title:Yes to Uber"),
        ('Their "opposition" is weak. Sad.', "globe_mail_comments:14505273"),
        ("Top level.", "globe_mail_comments:28494689"),
        ("A reply\non two lines.", "globe_mail_comments:28494689"),
        ("A reply to the reply.", "globe_mail_comments:28494689"),
        ("Second thread.", "globe_mail_comments:28494689"),
    ]


def test_4forums_strips_emoticons_and_dedupes_across_files(tmp_path):
    folder = tmp_path / "sarcasm_corpus_v2"
    write(folder / "GEN-sarc-notsarc.csv",
          "class,id,text\n"
          "sarc,1,\"Oh sure emoticonXRolleyes. Keep going emoticonXKillemoticonXGood\r\nok\"\n"
          "notsarc,2,Guns &amp; laws emoticonXWowYou know it.\n"
          "notsarc,3,emoticonXBye\n")
    write(folder / "HYP-sarc-notsarc.csv", "class,id,text\nsarc,1,What a plan emoticonxrolleyes\n")
    write(folder / "RQ-sarc-notsarc.csv",
          "class,id,text\nnotsarc,1,Guns & laws You know it.\nsarc,2,Is it?\n")

    assert pairs(load_4forums(tmp_path)) == [
        ("Oh sure. Keep going \nok", "4forums:GEN:1"),
        ("Guns & laws You know it.", "4forums:GEN:2"),
        ("What a plan", "4forums:HYP:1"),
        ("Is it?", "4forums:RQ:2"),
    ]


def test_reddit_fills_masks_stably(tmp_path):
    folder = tmp_path / "goemotions_reddit"
    write(folder / "train.tsv", '"[NAME] is right, ""quoted"" stuff"\t27\teebbqej\n')
    write(folder / "dev.tsv", "Thanks [NAME]! Ask [NAME] too.\t15,4\ted00q6i\n")
    write(folder / "test.tsv", "As a [RELIGION] I disagree.\t2\teezlygj\n")

    expected = [
        ('Jessica is right, "quoted" stuff', "reddit:eebbqej"),
        ("Thanks Karen! Ask Hannah too.", "reddit:ed00q6i"),
        ("As a Methodist I disagree.", "reddit:eezlygj"),
    ]
    assert pairs(load_reddit(tmp_path)) == expected
    assert pairs(load_reddit(tmp_path)) == expected


def test_youtube_keeps_ham_only(tmp_path):
    folder = tmp_path / "youtube_spam_collection"
    header = "COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\n"
    write(folder / "Youtube01-Psy.csv",
          header + "a1,Ann,2013-11-07,\"I can&#39;t stop<br />watching\ufeff\",0\n"
          "a2,Bob,2013-11-07,Check out my channel!\ufeff,1\n")
    write(folder / "Youtube02-KatyPerry.csv",
          header + "b1,Cy,,\"<a href=\"\"http://x.y\"\">2:19</a> best part &lt;3\ufeff\",0\n")

    assert pairs(load_youtube(tmp_path)) == [
        ("I can't stop watching", "youtube:Youtube01-Psy"),
        ("2:19  best part <3", "youtube:Youtube02-KatyPerry"),
    ]


def test_twitter_airline_repairs_broken_rows(tmp_path):
    header = ("tweet_id,airline_sentiment,airline_sentiment_confidence,negativereason,"
              "negativereason_confidence,airline,airline_sentiment_gold,name,negativereason_gold,"
              "retweet_count,text,tweet_coord,tweet_created,tweet_location,user_timezone\n")
    rows = [
        # An ordinary row: every leading handle and the URL go.
        '1,neutral,1,,,United,,ann,,0,".@united @ladygaga: Thanks &amp; bye http://t.co/x",'
        ',2015-02-24 11:35:52 -0800,,',
        # Split at "&lt;" with an empty tweet_coord before the date.
        "2,positive,1,,,Virgin America,,cami,,0,@VirginAmerica I &lt,3 pretty graphics. :D,,"
        "2015-02-24 10:30:40 -0800,NYC",
        # Split twice, with coordinates before the date.
        '3,negative,1,,,Delta,,dan,,0,@Delta BOS&gt,LAS &amp, back,"[34.02, -118.38]",'
        "2015-02-23 16:24:11 -0800",
        # No date left anywhere: dropped.
        "4,negative,1,,,United,,eve,,0,@united &lt,&lt,&lt,&lt,&lt",
        # "@ LAX" is the word "at", not a handle.
        "5,neutral,1,,,American,,fay,,0,@ LAX is a mess,,2015-02-22 12:01:39 -0800,,",
    ]
    write(tmp_path / "twitter_airline_sentiment" / "Tweets.csv", header + "\n".join(rows) + "\n")

    assert pairs(load_twitter_airline(tmp_path)) == [
        ("Thanks & bye", "twitter_airline:ann"),
        ("I <3 pretty graphics. :D", "twitter_airline:cami"),
        ("BOS>LAS & back", "twitter_airline:dan"),
        ("@ LAX is a mess", "twitter_airline:fay"),
    ]


def test_twitter_isarcasm_uses_tweet_not_rephrase(tmp_path):
    folder = tmp_path / "isarcasmeval_tweets"
    write(folder / "train.En.csv",
          ",tweet,sarcastic,rephrase,sarcasm,irony,satire,understatement,overstatement,"
          "rhetorical_question\n"
          "0,@a @b_c Love waiting 3 hours https://t.co/abc,1,I hate waiting.,1,0,0,0,0,0\n"
          "1,,0,,,,,,,\n"
          "2,Thanks @easyJet for nothing &amp; more,1,,0,1,0,0,0,0\n")
    write(folder / "task_A_En_test.csv", "text,sarcastic\n\"Pinball!\n\nYes.\",0\n")

    assert pairs(load_twitter_isarcasm(tmp_path)) == [
        ("Love waiting 3 hours", "twitter_isarcasm:train:0"),
        ("Thanks @easyJet for nothing & more", "twitter_isarcasm:train:2"),
        ("Pinball!\n\nYes.", "twitter_isarcasm:test:0"),
    ]


def test_review_sentences_in_blocks_of_fifty(tmp_path):
    folder = tmp_path / "review_sentences_uci"
    lines = [f"Sentence number {i} here.\t{i % 2}" for i in range(52)]
    write(folder / "amazon_cells_labelled.txt", "\n".join(lines) + "\n")
    write(folder / "imdb_labelled.txt", "A very slow movie.  \t0\nIt feels &amp; looks cheap.  \t0\n")

    amazon = pairs(load_amazon_reviews(tmp_path))
    assert len(amazon) == 52
    assert amazon[0] == ("Sentence number 0 here.", "amazon_reviews:0")
    assert amazon[49][1] == "amazon_reviews:0"
    assert amazon[50:] == [("Sentence number 50 here.", "amazon_reviews:1"),
                           ("Sentence number 51 here.", "amazon_reviews:1")]
    assert pairs(load_imdb_reviews(tmp_path)) == [
        ("A very slow movie.", "imdb_reviews:0"),
        ("It feels & looks cheap.", "imdb_reviews:0"),
    ]


USENET_REPLY = """\
From: wwarf@silver.ucs.indiana.edu (Wayne J. Warf)
Subject: Re: ATF BURNS DIVIDIAN RANCH - UPDATE
Organization: Indiana University
Lines: 20

In article <nate.1485@psygate.psych.indiana.edu> nate@psygate.psych.indiana.edu
(Nathan Engle) writes:
>>Ah yes, I see a few liberal weenies have come out of the woodwork.
>
>    Actually all the liberals I've seen have deplored it.
So far, there is NO credible evidence that the BD's set the fires
themselves. We only have the ATF/FBI's sayso.

|> A quote in another style.
: And another.
No, not love, just share a surprising similarity of beliefs.

Wayne

--
 +   Wayne J. Warf -- WWARF@ucs.indiana.edu -- I speak for myself only   +
"""

USENET_FIRST = """\
From: abc@def.edu (A. B. Carter)
Subject: ATF burns Dividian ranch - update
Lines: 9

The fire started around noon.

From article <1r19l9$7dv@usenet.INS.CWRU.Edu>, by oldham@ces.cwru.edu (Daniel Oldham):
> quoted
Nobody knows who lit it.

Adam Shostack \t\t\t adam@das.harvard.edu

"If we had a budget big enough..."   -John Perry Barlow
"""


def test_usenet_drops_headers_quotes_and_signatures(tmp_path):
    root = tmp_path / "usenet_20newsgroups_talk" / "20news-bydate-test"
    write(root / "talk.politics.guns" / "54000", USENET_REPLY, encoding="latin-1")
    write(root / "talk.politics.guns" / "53999", USENET_FIRST)
    write(root / "talk.religion.misc" / "84000",
          "From: x@y.z\nSubject: Quotes only\n\n> all quoted\n-- \nSig\n")

    assert pairs(load_usenet(tmp_path)) == [
        ("The fire started around noon.\n\nNobody knows who lit it.",
         "usenet:atf burns dividian ranch - update"),
        ("So far, there is NO credible evidence that the BD's set the fires themselves. "
         "We only have the ATF/FBI's sayso.\n\n"
         "No, not love, just share a surprising similarity of beliefs.",
         "usenet:atf burns dividian ranch - update"),
    ]


# --- Real data ------------------------------------------------------------------------------

# SOURCES.md counts, as unique texts where it gives them. Globe and Mail: C3 12,000 + CTC
# 1,121 + extractor about 3,300 unique + 892 JSON comments. 4forums: 9,386 rows, about 9k
# unique. YouTube: 919 unique ham texts. Usenet: 1,284 posts, a few of them all quote.
EXPECTED_COUNTS = {
    "globe_mail_comments": 12_000 + 1_121 + 3_300 + 892,
    "4forums": 9_000,
    "reddit": 53_994,
    "youtube": 919,
    "twitter_airline": 14_422,
    "twitter_isarcasm": 3_456 + 1_400,
    "amazon_reviews": 990,
    "imdb_reviews": 997,
    "yelp_reviews": 996,
    "usenet": 1_284,
}
LEFTOVERS = ("[NAME]", "[RELIGION]", "emoticonx", "&amp;", "&quot;", "&#39;", "<br", "\ufeff")
# Only tweets had their leading handles stripped; a leading "@name" on the Globe, 4forums or
# Reddit is a reply to another commenter and is left as written.
TWITTER = ("twitter_airline", "twitter_isarcasm")


@pytest.fixture(scope="module")
def real_records(data_dir):
    return {name: list(load(data_dir)) for name, load in COMMENT_SOURCES.items()}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_real_source_count_and_cleanliness(real_records, name):
    records = real_records[name]
    expected = EXPECTED_COUNTS[name]
    assert abs(len(records) - expected) <= 0.10 * expected, (name, len(records), expected)
    assert all(r.source == name and r.group.startswith(f"{name}:") for r in records)
    assert len({r.text for r in records}) == len(records)
    assert statistics.median(len(r.text.split()) for r in records) >= 5
    for record in records:
        lowered = record.text.lower()
        assert not any(mark.lower() in lowered for mark in LEFTOVERS), record.text[:200]
        if name in TWITTER:
            assert not re.match(r"\.?@\w", record.text), record.text[:200]
        if name == "usenet":
            assert not re.search(r"(?m)(?:writes|wrote):\s*$", record.text), record.text[:200]
            assert not re.search(r"(?m)^(?:From|Subject|Lines):", record.text), record.text[:200]
            assert not re.search(r"(?m)^\s*>", record.text), record.text[:200]
