"""Corpus assembly: user files, cleaning, near duplicates, capping, weights, group splits."""

import pytest

from training.data import (
    DataError,
    cap_sources,
    clean,
    duplicate_key,
    fingerprint,
    load_user_file,
    source_weights,
    split_by_group,
)
from training.records import Record


def rec(text, label="comment", source="s", group="g"):
    return Record(text=text, label=label, source=source, group=group)


def test_user_csv(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text('text,label,group\n"Hello, world, again",comment,t1\nThe minister said so today.,editorial,\n')
    records = load_user_file(path)
    assert records == [
        Record("Hello, world, again", "comment", "user:mine", "user:mine:t1"),
        Record("The minister said so today.", "editorial", "user:mine", "user:mine:row3"),
    ]


def test_user_jsonl_with_source(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"text": "a b c", "label": "comment", "source": "desk"}\n\n{"text": "d e f", "label": "editorial"}\n')
    records = load_user_file(path)
    assert [r.source for r in records] == ["desk", "user:mine"]
    assert records[1].group == "user:mine:row3"


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("bad.jsonl", '{"text": "ok", "label": "comment"}\n{"text": "x", "label": "spam"}\n', "bad.jsonl line 2: 'label' must be one of"),
        ("bad.jsonl", '{"text": "ok", "label": "comment"}\n{oops\n', "bad.jsonl line 2: not valid JSON"),
        ("bad.jsonl", '["text", "label"]\n', "line 1: expected an object"),
        ("bad.jsonl", '{"text": "  ", "label": "comment"}\n', "line 1: 'text' must be a non-empty string"),
        ("bad.csv", "text,label\nfine,comment\n,editorial\n", "bad.csv line 3: 'text' must be a non-empty string"),
        ("bad.csv", "text,label\nfine,comment\na,comment,extra\n", "bad.csv line 3: more fields"),
        ("bad.csv", "body,label\nx,comment\n", "header lacks column(s) text"),
        ("bad.txt", "whatever", "use a .csv, .tsv or .jsonl file"),
        ("empty.csv", "text,label\n", "holds no rows"),
    ],
)
def test_user_file_errors_name_the_line(tmp_path, name, content, says):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError) as error:
        load_user_file(path)
    assert says in str(error.value)


def test_multiline_csv_field_reports_the_right_line(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('text,label\n"line one\nline two",comment\nx,wrong\n')
    with pytest.raises(DataError, match="multi.csv line 4"):
        load_user_file(path)


def test_clean_normalises_filters_and_drops_near_duplicates():
    records = [
        rec("\u201cThis is\u201d a comment here", group="a"),
        rec('"This is" a COMMENT here!', group="b"),  # same letters: a near duplicate
        rec("too short"),
        rec("The same text in two labels", label="editorial", source="e"),
        rec("the same text in two labels", label="comment"),
        rec("A different and unique comment"),
    ]
    kept, dropped = clean(records, min_words=3)
    assert [r.text for r in kept] == ['"This is" a comment here', "A different and unique comment"]
    assert dropped == {"short": 1, "duplicate": 1, "conflicting labels": 2}


def test_duplicate_key_ignores_typography_and_digits():
    assert duplicate_key("Shares rose 5% on Monday.") == duplicate_key("shares rose 7 % on monday")


def test_cap_sources_is_seeded_and_per_source():
    records = [rec(f"text {i}", source="big") for i in range(100)] + [rec("x y z", source="small")]
    capped = cap_sources(records, cap=10, seed=1)
    assert sum(r.source == "big" for r in capped) == 10
    assert sum(r.source == "small" for r in capped) == 1
    assert capped == cap_sources(records, cap=10, seed=1)


def test_source_weights_balance_sources_and_labels():
    records = ([rec("c", source="c1")] * 30 + [rec("c", source="c2")] * 10
               + [rec("e", "editorial", source="e1")] * 5)
    weights = source_weights(records)
    total = lambda source: sum(w for r, w in zip(records, weights) if r.source == source)
    assert total("c1") == pytest.approx(total("c2"))
    assert total("e1") == pytest.approx(total("c1") + total("c2"))
    assert sum(weights) == pytest.approx(len(records))


def test_split_keeps_groups_whole_and_is_stable():
    records = [rec(f"t{i} {j}", source=f"s{i % 3}", group=f"g{i}") for i in range(60) for j in range(3)]
    train, test = split_by_group(records, test_share=0.2, seed=0)
    assert not {r.group for r in train} & {r.group for r in test}
    assert len(train) + len(test) == len(records)
    for source in ("s0", "s1", "s2"):
        share = sum(r.source == source for r in test) / sum(r.source == source for r in records)
        assert 0.15 <= share <= 0.3
    # A group's side does not depend on the other records present.
    _, test_subset = split_by_group([r for r in records if r.source == "s0"], 0.2, 0)
    assert {r.group for r in test_subset} == {r.group for r in test if r.source == "s0"}


def test_fingerprint_ignores_order_but_not_content():
    a, b = rec("one two three"), rec("four five six", group="h")
    assert fingerprint([a, b]) == fingerprint([b, a])
    assert fingerprint([a, b]) != fingerprint([a, rec("four five seven", group="h")])


def test_titles_are_normalised_by_group_and_long_ones_left_out(tmp_path):
    from training.data import load_titles

    root = tmp_path / "bbc_news" / "bbc" / "tech"
    root.mkdir(parents=True)
    (root / "001.txt").write_text("Gadget \u201cshow\u201d opens\n\nA paragraph of the article.\n", encoding="utf-8")
    (root / "002.txt").write_text(" ".join(["word"] * 25) + "\n\nAnother paragraph.\n", encoding="utf-8")
    assert load_titles(tmp_path, only=["bbc", "reuters"]) == {"bbc:tech/001.txt": 'Gadget "show" opens'}
    assert len(load_titles(tmp_path, only=["bbc"], max_words=30)) == 2
    assert load_titles(tmp_path, only=["reuters"]) == {}
