"""Tests for the editorial importers: tiny copies of each raw format, traps included."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from training.records import EDITORIAL
from training.sources.editorial import (
    EDITORIAL_SOURCES,
    EDITORIAL_TITLES,
    OPINION_SECTIONS,
    abc_au_titles,
    bbc_titles,
    globe_mail_titles,
    load_abc_au,
    load_bbc,
    load_brown_press,
    load_globe_mail,
    load_project_syndicate,
    load_reuters,
    load_state_of_union,
    load_wsj,
)


def write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)


def pairs(records) -> list[tuple[str, str]]:
    return [(record.text, record.group) for record in records]


def test_titles_name_only_registered_sources_and_skip_garbled_or_held_out_ones(tmp_path: Path):
    assert set(EDITORIAL_TITLES) <= set(EDITORIAL_SOURCES)
    write(tmp_path / "bbc_news/bbc/business/001.txt", "Prosperity Ã¢â'¬â€œ not politicians\n\nA paragraph.\n")
    write(tmp_path / "bbc_news/bbc/business/002.txt", "As the New York Times said\n\nAnother paragraph.\n")
    write(tmp_path / "bbc_news/bbc/business/003.txt", "  \n\nA third paragraph.\n")
    assert list(bbc_titles(tmp_path)) == []


def test_registry_names_every_source():
    assert set(EDITORIAL_SOURCES) == {
        "globe_mail_editorial",
        "bbc",
        "abc_au",
        "reuters",
        "brown_press",
        "wsj",
        "project_syndicate",
        "state_of_union",
        "allsides_opinion",
        "allsides_news",
    }


# --- Globe and Mail ------------------------------------------------------------------------

FACTIVA_P = '<p class="articleParagraph enarticleParagraph">'


def factiva_article(
    article_id: str, section: str, byline: str, lead: list[str], body: list[str], title: str = ""
) -> str:
    """One article of a Factiva "Article Format" page: field rows, then LP and TD paragraphs."""

    def cell(name: str, value: str) -> str:
        return f'<tr><td class="index"><b>{name}</b>&nbsp;</td><td>{value}</td></tr>\n'

    def paragraphs(texts: list[str]) -> str:
        return "".join(f"{FACTIVA_P}{text}</p>\n" for text in texts)

    return (
        f'<div id="article-{article_id}" class="article"><table>'
        + cell("SE", section)
        + (cell("HD", title) if title else "")
        + cell("BY", byline)
        + f'<tr><td class="index"><p><b>LP</b>&nbsp;</p></td><td>{paragraphs(lead)}</td></tr>'
        + f'<tr><td class="index"><p><b>TD</b>&nbsp;</p></td><td>{paragraphs(body)}</td></tr>'
        + cell("AN", f"Document {article_id}")
        + "</table></div>"
    )


@pytest.fixture
def globe_dir(tmp_path: Path) -> Path:
    root = tmp_path / "gnm_sfu_comment_extractor"
    page = factiva_article(
        "GLOB0001",
        "Comment",
        "GWYN MORGAN   ",
        [
            "OTTAWA -- gmorgan@globeandmail.com",
            "The pipeline debate is <span class=\"companylink\">NHL</span>'s too.",
        ],
        [
            "Tories &amp; Grits agree – for once.",
            "*****",
            "Send your questions to advice@globeandmail.com.",
            "Gwyn Morgan is a Canadian business leader.",
        ],
    ) + factiva_article(
        "GLOB0002",
        "Sports Column",
        "JAMES MIRTLE",
        ["Author and hockey writer", "The Leafs lost again."],
        ["SEE CORRECTION AT END OF TEXT", "Follow him on Twitter: @mirtle"],
        title="Leafs &amp; the long winter",
    )
    pages = root / "Sample_Resources/Factiva_Downloads"
    write(pages / "2012/Factiva_2012_1.htm", f"<html><body>{page}</body></html>")
    csv_path = root / "Sample_Resources/Factiva_CSV/Factiva_csv.csv"
    csv_path.parent.mkdir(parents=True)
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["AN", "SE", "BY", "LP", "TD", "Article_ID"])
        writer.writeheader()
        writer.writerow(
            {
                "AN": "Document GLOB0001",
                "SE": "Comment",
                "BY": "GWYN MORGAN   ",
                "LP": f"{FACTIVA_P}OTTAWA -- gmorgan@globeandmail.com</p>",
                "TD": f"{FACTIVA_P}Tories &amp; Grits agree – for once.</p>",
                "Article_ID": "111",
            }
        )
    raw = root / "Output/ArticleRawData"
    online = {"article_url": "http://x/opinion/a/article111/", "article_text": ["<p>Online.</p>"]}
    write(raw / "article_111.json", json.dumps({"111": online}))
    write(
        raw / "article_222.json",
        json.dumps(
            {
                "222": {
                    "article_url": "http://x/opinion/editorials/b/article222/",
                    "article_text": ["<p>An unlinked editorial.</p>", "<p>It ends here.</p>"],
                    "title": "An unlinked editorial - The Globe and Mail",
                }
            }
        ),
    )
    return tmp_path


def test_globe_mail_drops_bylines_taglines_and_contact_lines(globe_dir: Path):
    records = list(load_globe_mail(globe_dir))
    assert pairs(records) == [
        ("The pipeline debate is NHL's too.", "globe_mail_editorial:GLOB0001"),
        ("Tories & Grits agree – for once.", "globe_mail_editorial:GLOB0001"),
        ("The Leafs lost again.", "globe_mail_editorial:GLOB0002"),
        # The CSV repeats GLOB0001; ArticleRawData 111 is the same article online.
        ("Online.", "globe_mail_editorial:GLOB0001"),
        ("An unlinked editorial.", "globe_mail_editorial:222"),
        ("It ends here.", "globe_mail_editorial:222"),
    ]
    assert {(r.label, r.source) for r in records} == {(EDITORIAL, "globe_mail_editorial")}


def test_globe_mail_titles_come_from_factiva_and_the_page_without_the_sites_name(globe_dir: Path):
    assert sorted(globe_mail_titles(globe_dir)) == [
        ("globe_mail_editorial:222", "An unlinked editorial"),
        ("globe_mail_editorial:GLOB0002", "Leafs & the long winter"),
    ]


def test_globe_mail_filters_sections(globe_dir: Path):
    texts = [r.text for r in load_globe_mail(globe_dir, sections=OPINION_SECTIONS)]
    assert "The Leafs lost again." not in texts
    assert "An unlinked editorial." in texts  # /opinion/editorials/ counts as Editorial


# --- BBC -----------------------------------------------------------------------------------


def test_bbc_skips_headline_and_duplicates_and_reads_latin1(tmp_path: Path):
    article = "Ad sales up\n\nProfits jumped 76% to $1.13bn.\n\nA communiqu&#233; followed.\n"
    write(tmp_path / "bbc_news/bbc/business/001.txt", article)
    write(tmp_path / "bbc_news/bbc/business/002.txt", article)  # duplicate article
    write(tmp_path / "bbc_news/bbc/sport/199.txt", b"Cup draw\n\nTickets cost \xa320 each.\n")
    assert pairs(load_bbc(tmp_path)) == [
        ("Profits jumped 76% to $1.13bn.", "bbc:business/001.txt"),
        ("A communiqué followed.", "bbc:business/001.txt"),
        ("Tickets cost £20 each.", "bbc:sport/199.txt"),
    ]
    # The headline is kept apart, by the records' group: no record holds it.
    assert list(bbc_titles(tmp_path)) == [("bbc:business/001.txt", "Ad sales up"), ("bbc:sport/199.txt", "Cup draw")]


# --- ABC Australia -------------------------------------------------------------------------


def test_abc_merges_subhead_blocks_and_repairs_encodings(tmp_path: Path):
    rural = (
        "PM denies knowledge of AWB kickbacks\n"
        "The Prime Minister has denied it.\n"
        "\"It was open Â\x85 we can't,\" he said.\n"
        "\n"
        "Email questions\n"
        "An email was questioned.\n"
        "\"We did not use itÂ\".\n"
        "\n"
        "Wool market falls\n"
        "Prices fell 5&deg; overnight.\n"
    )
    write(tmp_path / "abc_news_au/rural.txt", rural)
    science = (  # Latin-1, CRLF, trailing spaces
        b"Teaser caption \r\nIt was 30\xb0 in La Ni\xf1a year. \r\n\r\n"
        b"Second teaser\r\nMice were rescued.\r\n"
    )
    write(tmp_path / "abc_news_au/science.txt", science)
    assert pairs(load_abc_au(tmp_path)) == [
        ("The Prime Minister has denied it.", "abc_au:rural:0"),
        ("\"It was open … we can't,\" he said.", "abc_au:rural:0"),
        ("An email was questioned.", "abc_au:rural:0"),
        ("\"We did not use it\".", "abc_au:rural:0"),
        ("Prices fell 5° overnight.", "abc_au:rural:1"),
        ("It was 30° in La Niña year.", "abc_au:science:0"),
        ("Mice were rescued.", "abc_au:science:1"),
    ]
    # A story's headline is its first block's first line; a subhead block's is not one.
    assert list(abc_au_titles(tmp_path)) == [
        ("abc_au:rural:0", "PM denies knowledge of AWB kickbacks"),
        ("abc_au:rural:1", "Wool market falls"),
        ("abc_au:science:0", "Teaser caption"),
        ("abc_au:science:1", "Second teaser"),
    ]


# --- Reuters -------------------------------------------------------------------------------

REUTERS_SGM = """<!DOCTYPE lewis SYSTEM "lewis.dtd">
<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" NEWID="7">
<TEXT>&#2;
<TITLE>STANDARD OIL &lt;SRD> TO FORM UNIT</TITLE>
<DATELINE>    CLEVELAND, Feb 26 - </DATELINE><BODY>Standard Oil Co &lt;SRD> and BP
North America plan a
venture&#127;unit.
    THE FOLLOWING IS A NOTICE
    Profits rose, Smith &amp; Co said.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" NEWID="8">
<TEXT>&#2;
<TITLE>AM INTERNATIONAL 2ND QTR</TITLE>
<DATELINE>    CHICAGO, Feb 26 -
    </DATELINE><BODY>Shr 1.20 dlrs vs 98 cts
    Net 1,234,000 vs 987,000
    Prices are as follows -
         Natl   Loan
 Wheat   2.55   2.40
    NOTE: Per shr calculated after payment of preferred dividends.
 REUTER...
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS TOPICS="NO" LEWISSPLIT="TRAIN" NEWID="9">
<TEXT TYPE="BRIEF">&#2;
<TITLE>BRIEF WITHOUT BODY</TITLE>
&#3;</TEXT>
</REUTERS>
"""


def test_reuters_joins_wrapped_lines_and_drops_tables(tmp_path: Path):
    write(tmp_path / "reuters21578/reut2-000.sgm", REUTERS_SGM)
    assert pairs(load_reuters(tmp_path)) == [
        ("Standard Oil Co and BP North America plan a venture unit.", "reuters:7"),
        ("Profits rose, Smith & Co said.", "reuters:7"),
        ("Prices are as follows -", "reuters:8"),
        ("NOTE: Per shr calculated after payment of preferred dividends.", "reuters:8"),
    ]


# --- Brown ---------------------------------------------------------------------------------

BROWN_SAMPLE = (
    "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' was/bedz found/vbn ,/, "
    "and/cc Ivan/np Allen/np Jr./np ./.\n\n\n"
    "Merger/nn-hl proposed/vbn-hl \n"
    "However/wrb ,/, it/pps cost/vbd $40/nns (/( or/cc less/ap )/) ;/. "
    "he/pps called/vbd it/ppo '/' sound/jj '/' ./.\n"
    "Did/dod it/pps help/vb ?/.\n\n\n"
    "Wards/nns-hl protected/vbn-hl \n\n\n"
)


def test_brown_strips_tags_detokenises_and_drops_headlines(tmp_path: Path):
    write(tmp_path / "brown_press/ca01", BROWN_SAMPLE)
    write(tmp_path / "brown_press/cats.txt", "ca01 news\n")
    write(tmp_path / "brown_press/README", "The Brown Corpus.\n")
    assert pairs(load_brown_press(tmp_path)) == [
        ('The jury said "no evidence" was found, and Ivan Allen Jr.', "brown_press:ca01"),
        ("However, it cost $40 (or less); he called it 'sound'. Did it help?", "brown_press:ca01"),
    ]


# --- Wall Street Journal -------------------------------------------------------------------


def test_wsj_joins_lines_and_drops_start_marker(tmp_path: Path):
    raw = tmp_path / "wsj_ptb_sample/raw"
    write(raw / "wsj_0001", ".START \n\nPierre Vinken will join.\nHe is 61. \n\nNext paragraph.\n")
    write(raw / "wsj_0142", b".START \n\nSteady, \xd5yesterday's \xe5 indicators held.\n")
    write(raw / "README", "Penn Treebank raw text.\n")
    assert pairs(load_wsj(tmp_path)) == [
        ("Pierre Vinken will join. He is 61.", "wsj:wsj_0001"),
        ("Next paragraph.", "wsj:wsj_0001"),
        ("Steady, yesterday's indicators held.", "wsj:wsj_0142"),
    ]


# --- Project Syndicate ---------------------------------------------------------------------


def ps_article(date_author: str, *lines: str) -> str:
    furniture = ["PS OnPoint", "Add to Bookmarks", "Subscribe to Project Syndicate today."]
    body = ["", f"   {date_author}", "   ", *lines[:1], *furniture, *lines[1:], ""]
    return "\r\r\n".join(body)


def test_project_syndicate_drops_byline_furniture_and_repeats(tmp_path: Path):
    first = ps_article(
        "May 14, 2020Raj Persaud",
        ",\xa0Els Torreele",
        "LONDON \u2013 Leaders matter.",
        "They helped the endangered category.Our frameworks failed.",
    )
    rows = [
        ("1", first),
        ("2", ps_article("May 13, 2020Dani Rodrik", "Trade will shrink.")),
        ("3", first),  # the scrape repeats some articles
        ("4", ps_article("May 12, 2020Barry Eichengreen", "Gold is back.")),
    ]
    path = tmp_path / "project_syndicate_covid/Page_all.csv"
    path.parent.mkdir(parents=True)
    with path.open("w", encoding="cp1252", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["", "x"])
        writer.writerows(rows)
    assert b"\x96" in path.read_bytes()  # the en dash in cp1252, as in the real file
    assert pairs(load_project_syndicate(tmp_path)) == [
        ("LONDON \u2013 Leaders matter.", "project_syndicate:1"),
        ("They helped the endangered category. Our frameworks failed.", "project_syndicate:1"),
        ("Trade will shrink.", "project_syndicate:2"),
        ("Gold is back.", "project_syndicate:4"),
    ]


# --- State of the Union --------------------------------------------------------------------


def test_state_of_union_removes_annotations_and_big5_punctuation(tmp_path: Path):
    nixon = (
        b"Annual Message to the Congress on the State of the Union. January 22, 1970\n\n"
        b"Mr. Speaker, Mr. President:\n"
        b"  Our generation will be remembered\xa1Xnot for war.\n"
        b"  Man\xa1\xa6s genius is \xa1\xa7boundless.\xa1\xa8 (Applause.)\n"
        b"NOTE: The President spoke at 12:34 p.m.\n"
    )
    bush = (
        "STATE OF THE UNION ADDRESS\n \nJanuary 31, 2006\n\n"
        "9:10 P.M. EST \n"
        "THE PRESIDENT: Thank you all. (Applause.) (Laughter.)\n\n"
        "President Bush waves. White House photo by Eric DraperEvery time I speak, I am humbled.\n"
        "He said ``freedom'' twice.\n"
    )
    write(tmp_path / "us_state_union/1970-Nixon.txt", nixon)
    write(tmp_path / "us_state_union/2006-GWBush.txt", bush)
    assert pairs(load_state_of_union(tmp_path)) == [
        ("Mr. Speaker, Mr. President:", "state_of_union:1970-Nixon.txt"),
        ("Our generation will be remembered--not for war.", "state_of_union:1970-Nixon.txt"),
        ("Man's genius is \"boundless.\"", "state_of_union:1970-Nixon.txt"),
        ("Thank you all.", "state_of_union:2006-GWBush.txt"),
        ("Every time I speak, I am humbled.", "state_of_union:2006-GWBush.txt"),
        ('He said "freedom" twice.', "state_of_union:2006-GWBush.txt"),
    ]


# --- The real corpora ----------------------------------------------------------------------

# Unique paragraphs of 8+ words, from SOURCES.md unless noted. reuters: SOURCES.md counts
# 20,181 unique before the table/template drop, which removes about 700 of them.
# globe_mail_editorial: the registry keeps the opinion and news-column sections
# (OPINION_SECTIONS), SOURCES.md's ~9.4k; all 1,400 Factiva articles plus the 14 online-only
# ones give about 19.7k (23,652 Factiva paragraphs less bylines, contact lines and the
# short furniture the 8-word cut removes), checked below.
EXPECTED_LONG_PARAGRAPHS = {
    "globe_mail_editorial": 9_400,
    "bbc": 9_460,
    "abc_au": 26_419,
    "reuters": 20_181,
    "brown_press": 3_086,
    "wsj": 1_742,
    "project_syndicate": 922,
    "state_of_union": 6_155,
}
LEFTOVER_MARKUP = (
    "<p", "</", "/at ", "&amp;", "&#", "(Applause.)", "THE PRESIDENT:", "\xa1", "``", ".START"
)


def long_paragraphs(records) -> set[str]:
    return {record.text for record in records if len(record.text.split()) >= 8}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(EXPECTED_LONG_PARAGRAPHS))
def test_real_source_counts_and_cleanliness(data_dir: Path, name: str):
    records = list(EDITORIAL_SOURCES[name](data_dir))
    expected = EXPECTED_LONG_PARAGRAPHS[name]
    assert abs(len(long_paragraphs(records)) - expected) <= 0.15 * expected
    assert all(r.group.startswith(f"{name}:") and r.group != f"{name}:" for r in records)
    assert all(r.text == r.text.strip() and r.text for r in records)
    dirty = [r.text for r in records if any(mark in r.text for mark in LEFTOVER_MARKUP)]
    assert dirty == []


@pytest.mark.realdata
def test_real_globe_mail_all_sections(data_dir: Path):
    records = load_globe_mail(data_dir)
    assert abs(len(long_paragraphs(records)) - 19_700) <= 0.15 * 19_700
