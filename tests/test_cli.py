"""The batch command line: formats, order, bad rows, evaluate, the console script, flat memory."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from model.cli import main
from tests.conftest import COMMENT_EXAMPLES, EDITORIAL_EXAMPLES

REPO = Path(__file__).resolve().parent.parent
TEXTS = [EDITORIAL_EXAMPLES[0], COMMENT_EXAMPLES[0], "Mixed: officials said lol", EDITORIAL_EXAMPLES[3]]
RESULT_COLUMNS = ["label", "p_editorial", "decision", "kind", "p_sarcastic"]


@pytest.fixture()
def run(tiny_model_dir, capsys):
    """Call ``main`` with the tiny model; return (exit code, stdout, stderr)."""
    def run(*argv):
        code = main([*argv, "--model-dir", str(tiny_model_dir), "--quiet"])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def read_jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_jsonl_keeps_fields_and_order_and_labels_match_the_classifier(run, tmp_path, tiny_classifier):
    rows = [{"id": i, "text": text, "meta": {"n": i}} for i, text in enumerate(TEXTS)]
    code, out, _ = run("classify", str(write_jsonl(tmp_path / "in.jsonl", rows)))
    assert code == 0
    got = read_jsonl(out)
    expected = tiny_classifier.classify(TEXTS)
    assert [g["id"] for g in got] == list(range(len(TEXTS)))
    for row, g, e in zip(rows, got, expected):
        assert list(g) == ["id", "text", "meta", *RESULT_COLUMNS]
        assert {k: g[k] for k in row} == row
        assert g["label"] == e["label"] and g["decision"] == e["decision"]
        assert g["p_editorial"] == pytest.approx(e["scores"]["editorial"])
        assert g["kind"] is None and g["p_sarcastic"] is None  # the tiny model has no kind model


def test_csv_with_quoted_commas_and_newlines(run, tmp_path, tiny_classifier):
    texts = ['The minister said, on Tuesday, that\nthe deficit "fell".', COMMENT_EXAMPLES[1]]
    path = tmp_path / "in.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "source"])
        writer.writerows([[1, texts[0], "a"], [2, texts[1], "b"]])
    out_path = tmp_path / "out.csv"
    code, out, _ = run("classify", str(path), "--out", str(out_path))
    assert code == 0 and out == ""
    with open(out_path, newline="", encoding="utf-8") as handle:
        got = list(csv.DictReader(handle))
    assert list(got[0]) == ["id", "text", "source", *RESULT_COLUMNS]
    assert [g["text"] for g in got] == texts and [g["id"] for g in got] == ["1", "2"]
    assert [g["label"] for g in got] == [r["label"] for r in tiny_classifier.classify(texts)]
    assert [g["kind"] for g in got] == ["", ""]


def test_plain_lines_give_jsonl(run, tmp_path, tiny_classifier):
    path = tmp_path / "in.txt"
    path.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    code, out, _ = run("classify", str(path))
    got = read_jsonl(out)
    assert code == 0
    assert [g["text"] for g in got] == TEXTS
    assert [g["label"] for g in got] == [r["label"] for r in tiny_classifier.classify(TEXTS)]


def test_stdin_to_stdout_as_csv(run, monkeypatch, tiny_classifier):
    stdin = io.TextIOWrapper(io.BytesIO(("\n".join(TEXTS) + "\n").encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    code, out, _ = run("classify", "-", "--input-format", "lines", "--format", "csv")
    got = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert [g["label"] for g in got] == [r["label"] for r in tiny_classifier.classify(TEXTS)]


def test_review_band_sets_the_decision(run, tmp_path):
    code, out, _ = run("classify", str(write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in TEXTS])),
                       "--review-band", "0", "1")
    assert code == 0 and {g["decision"] for g in read_jsonl(out)} == {"review"}


def test_stdin_needs_a_format(run):
    code, _, err = run("classify", "-")
    assert code == 2 and "--input-format" in err


def test_model_error_exits_2(tmp_path, capsys):
    assert main(["classify", "-", "--input-format", "lines", "--model-dir", str(tmp_path)]) == 2
    assert "card" in capsys.readouterr().err


GOOD = EDITORIAL_EXAMPLES[0]
BAD_JSONL = [
    ("not json", "{oops", "not valid JSON"),
    ("missing text", json.dumps({"id": 3}), "no 'text' field"),
    ("empty text", json.dumps({"text": "   "}), "'text' is empty"),
    ("text not a string", json.dumps({"text": 5}), "must be a string (got int)"),
    ("not an object", json.dumps([GOOD]), "expected a JSON object"),
    ("too long", json.dumps({"text": "a" * 20_001}), "20,001 characters"),
]


@pytest.mark.parametrize("line, message", [c[1:] for c in BAD_JSONL], ids=[c[0] for c in BAD_JSONL])
def test_a_bad_jsonl_row_stops_with_its_line_number(run, tmp_path, line, message):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"text": GOOD}) + "\n\n" + line + "\n" + json.dumps({"text": GOOD}) + "\n")
    out_path = tmp_path / "out.jsonl"
    code, _, err = run("classify", str(path), "--out", str(out_path))
    assert code == 2
    assert "in.jsonl line 3: " in err and message in err
    assert not out_path.exists()  # the output is written whole or not at all


BAD_CSV = [
    ("extra field", "4,oops,x", "3 fields where the header has 2 columns"),
    ("empty text", "4,", "'text' is empty"),
    ("too long", "4," + "a" * 20_001, "20,001 characters"),
]


@pytest.mark.parametrize("line, message", [c[1:] for c in BAD_CSV], ids=[c[0] for c in BAD_CSV])
def test_a_bad_csv_row_stops_with_its_line_number(run, tmp_path, line, message):
    path = tmp_path / "in.csv"
    # The quoted newline makes row 2 two lines long, so the bad row is on line 4.
    path.write_text(f'id,text\n1,"{GOOD}\nsecond line"\n{line}\n5,{COMMENT_EXAMPLES[2]}\n')
    code, _, err = run("classify", str(path))
    assert code == 2
    assert "in.csv line 4: " in err and message in err


def test_invalid_utf8_is_a_bad_row(run, tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,text\n1,caf\xe9 lol\n2,fine text here\n")
    code, out, _ = run("classify", str(path), "--skip-bad")
    got = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(got) == 2
    assert got[0]["error"].startswith("line 2: not valid UTF-8") and got[1]["error"] == ""


def test_jsonl_to_csv_refuses_a_field_the_header_lacks(run, tmp_path):
    rows = [{"text": GOOD}, {"text": GOOD, "late": 1}]
    code, _, err = run("classify", str(write_jsonl(tmp_path / "in.jsonl", rows)), "--format", "csv", "--batch", "1")
    assert code == 2 and "'late'" in err and "--format jsonl" in err


def test_csv_header_without_the_text_column(run, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,body\n1,hello\n")
    code, _, err = run("classify", str(path))
    assert code == 2 and "line 1: header lacks a 'text' column" in err


def test_a_bad_plain_line_is_an_empty_text(run, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text(f"{GOOD}\n\n{GOOD}\n")
    code, _, err = run("classify", str(path))
    assert code == 2 and "line 2: 'text' is empty" in err


def test_skip_bad_keeps_every_row_in_order_with_an_error(run, tmp_path):
    lines = [json.dumps({"id": "first", "text": GOOD}), *(line for _name, line, _message in BAD_JSONL),
             json.dumps({"id": "last", "text": COMMENT_EXAMPLES[0]})]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, out, err = run("classify", str(path), "--skip-bad", "--batch", "3")
    got = read_jsonl(out)
    assert code == 0
    assert len(got) == len(lines)
    assert got[0]["id"] == "first" and got[0]["error"] is None and got[0]["label"] == "editorial"
    assert got[-1]["id"] == "last" and got[-1]["error"] is None and got[-1]["label"] == "comment"
    for number, (g, (_name, _line, message)) in enumerate(zip(got[1:-1], BAD_JSONL), start=2):
        assert g["label"] is None and g["p_editorial"] is None
        assert g["error"].startswith(f"line {number}: ") and message in g["error"]
    assert f"{len(BAD_JSONL)} bad row(s)" in err


def test_skip_bad_csv_has_an_error_column(run, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(f"id,text\n1,{GOOD}\n2,a,b\n3,\n")
    code, out, _ = run("classify", str(path), "--skip-bad")
    got = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert [g["id"] for g in got] == ["1", "2", "3"]
    assert [g["label"] for g in got] == ["editorial", "", ""]
    assert got[0]["error"] == "" and got[1]["error"].startswith("line 3: 3 fields")
    assert got[2]["error"] == "line 4: 'text' is empty"


def labelled_rows():
    rows = [{"text": t, "label": "editorial", "source": "wire"} for t in EDITORIAL_EXAMPLES[:6]]
    rows += [{"text": t, "label": "comment", "source": "forum"} for t in COMMENT_EXAMPLES[:6]]
    rows += [{"text": "The senator said lol", "label": "editorial", "source": "forum"},
             {"text": "Officials confirmed the figures on Monday", "label": "comment", "source": "wire"}]
    return rows


def test_evaluate_matches_sklearn(run, tmp_path, tiny_classifier):
    from sklearn.metrics import accuracy_score, brier_score_loss, confusion_matrix, f1_score, roc_auc_score

    rows = labelled_rows()
    code, out, _ = run("evaluate", str(write_jsonl(tmp_path / "l.jsonl", rows)), "--json")
    assert code == 0
    got = json.loads(out)
    truth = [r["label"] for r in rows]
    p = [tiny_classifier.editorial_probability(r["text"]) for r in rows]
    predicted = ["editorial" if x >= 0.5 else "comment" for x in p]
    is_editorial = [t == "editorial" for t in truth]
    assert got["n"] == len(rows)
    assert got["accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    assert got["macro_f1"] == pytest.approx(f1_score(truth, predicted, average="macro"))
    assert got["roc_auc"] == pytest.approx(roc_auc_score(is_editorial, p))
    assert got["brier"] == pytest.approx(brier_score_loss(is_editorial, p))
    assert got["confusion"]["matrix"] == confusion_matrix(truth, predicted, labels=["editorial", "comment"]).tolist()
    assert set(got["per_source"]) == {"wire", "forum"}
    assert got["per_source"]["wire"]["n"] == 7


def test_evaluate_prints_a_table_from_csv(run, tmp_path):
    path = tmp_path / "l.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["text", "label", "source"])
        writer.writeheader()
        writer.writerows(labelled_rows())
    code, out, _ = run("evaluate", str(path))
    assert code == 0
    for word in ("accuracy", "macro-F1", "ROC-AUC", "Brier", "confusion", "wire", "forum"):
        assert word in out


def test_evaluate_bad_label_names_its_line(run, tmp_path):
    rows = labelled_rows()
    rows[4]["label"] = "news"
    code, _, err = run("evaluate", str(write_jsonl(tmp_path / "l.jsonl", rows)))
    assert code == 2 and "l.jsonl line 5: 'label' must be one of editorial, comment (got 'news')" in err


def test_console_script_runs():
    script = Path(sys.executable).with_name("comment-classifier")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "classify" in result.stdout and "evaluate" in result.stdout


def test_python_dash_m_model_runs(tiny_model_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "model", "classify", "-", "--input-format", "lines", "--quiet",
         "--model-dir", str(tiny_model_dir)],
        input=GOOD + "\n", capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["label"] == "editorial"


def peak_rss_kb(argv: list, cwd: Path) -> int:
    """Peak RSS of a command, measured from a fresh parent whose only child it is."""
    code = ("import resource, subprocess, sys; "
            f"subprocess.run({argv!r}, check=True, cwd={str(cwd)!r}); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def test_memory_stays_flat_on_200k_lines(tiny_model_dir, tmp_path):
    # Measured: ~129 MB for 1,000 lines and for 200,000 (growth under 1 MB); the same file read
    # whole (--batch 200000) peaks at ~359 MB. So growth over the 1,000-line baseline is bounded at
    # 50 MB: far above the noise, far below what holding the rows would take.
    def lines(n):
        path = tmp_path / f"{n}.txt"
        with open(path, "w") as handle:
            for i in range(n):
                handle.write(f"Row {i}: the council voted lol\n")
        return path

    def peak(path):
        out = tmp_path / "out.jsonl"
        argv = [sys.executable, "-m", "model", "classify", str(path), "--quiet", "--out", str(out),
                "--model-dir", str(tiny_model_dir)]
        kb = peak_rss_kb(argv, REPO)
        assert sum(1 for _ in open(out)) == int(path.stem)
        return kb

    small, big = peak(lines(1_000)), peak(lines(200_000))
    print(f"peak RSS: {small / 1024:.0f} MB on 1,000 lines, {big / 1024:.0f} MB on 200,000")
    assert big - small < 50 * 1024
    assert big < 400 * 1024


def test_output_file_gets_the_usual_mode_and_a_missing_folder_is_an_error(tmp_path, tiny_model_dir, capsys):
    import os
    import stat

    from model.cli import main as cli_main

    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "lol no way"}\n')
    out = tmp_path / "out.jsonl"
    assert cli_main(["classify", str(source), "--out", str(out), "--model-dir", str(tiny_model_dir), "--quiet"]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    missing = tmp_path / "no" / "such" / "out.jsonl"
    assert cli_main(["classify", str(source), "--out", str(missing), "--model-dir", str(tiny_model_dir), "--quiet"]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_the_cli_names_the_model_version_it_used(tmp_path, tiny_model_dir, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in TEXTS])
    assert main(["classify", str(source), "--model", str(tiny_model_dir)]) == 0
    assert f"model tiny-1 (from {tiny_model_dir})" in capsys.readouterr().err
    assert main(["classify", str(source), "--model", str(tiny_model_dir), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_the_default_model_is_the_stores_current_version(tmp_path, tiny_model_dir, capsys, monkeypatch):
    """What make run serves (var/models) is what the CLI reads, and it follows a promotion."""
    from model.artifact import load
    from model.store import ModelStore

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COMMENT_CLASSIFIER_MODEL_DIR", raising=False)
    source = write_jsonl(tmp_path / "in.jsonl", [{"label": "comment", "text": t} for t in TEXTS])
    assert main(["evaluate", str(source), "--json"]) == 0
    out, err = capsys.readouterr()
    shipped = json.loads((REPO / "model" / "card.json").read_text())["version"]
    assert json.loads(out)["model"] == shipped
    assert "(from the shipped seed model" in err and "var/models has no current version" in err
    store = ModelStore(tmp_path / "var" / "models")
    store.seed(tiny_model_dir)
    artifact = load(tiny_model_dir)
    card = artifact.card
    store.add(artifact, {**card, "version": "tiny-2"})
    store.promote("tiny-2")
    assert main(["evaluate", str(source), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["model"] == "tiny-2"
    assert "model tiny-2 (from the model store var/models)" in err


def test_without_a_terminal_progress_is_summary_lines_not_a_bar(tmp_path, tiny_model_dir, capsys, monkeypatch):
    monkeypatch.setattr("model.progress.SUMMARY_SECONDS", 0.0)  # a summary after every batch
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in TEXTS * 3])
    assert main(["classify", str(source), "--model", str(tiny_model_dir), "--batch", "4",
                 "--out", str(tmp_path / "out.jsonl")]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "it/s" not in err  # no tqdm bar redraws in a log
    lines = [line for line in err.splitlines() if line.startswith("classify: ")]
    assert len(lines) == 4  # three batches, then the final line
    assert lines[-1].startswith("classify: done, ") and "(100%)" in lines[-1] and "12 rows" in lines[-1]
