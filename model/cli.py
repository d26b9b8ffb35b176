"""The batch command line: label a file of texts, or score the model on a labelled file.

Both commands stream: rows are read, classified and written ``--batch`` at a time, so memory
stays flat however long the file is. Input is JSONL (objects with a text field), CSV/TSV (a
header with a text column) or plain lines (one text per line), told apart by the extension
or ``--input-format``; ``-`` reads stdin.

The model is the model store's current version (var/models, what ``make run`` serves) unless
``--model`` names another store or plain model folder; with no store yet it is the shipped seed
in ``model/``. Both commands say on stderr which version they used. On a terminal they draw a
progress bar; otherwise (a log, a pipe) they print a one-line summary every 10 seconds.
"""

from __future__ import annotations

import argparse
import csv
import json
import contextlib
import os
import sys
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from model.labels import MAX_TEXT_CHARS

INPUT_FORMATS = ("jsonl", "csv", "tsv", "lines")
OUTPUT_FORMATS = ("jsonl", "csv", "tsv")
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv", ".txt": "lines"}
RESULT_FIELDS = ("label", "p_editorial", "decision", "kind", "p_sarcastic")
EXIT_OK, EXIT_BAD = 0, 2


class InputError(Exception):
    """The input cannot be read as asked; the message names the file and line."""


@dataclass
class Row:
    """One input row: its first line, its fields in input order, its text, or what is wrong with it."""

    line: int
    fields: dict
    text: str | None = None
    error: str | None = None


# -- reading ---------------------------------------------------------------------------------


def input_format(path: str, given: str | None) -> str:
    """The input format: ``given``, else the one the extension names."""
    if given:
        return given
    kind = EXTENSIONS.get(Path(path).suffix.lower()) if path != "-" else None
    if kind is None:
        where = "stdin" if path == "-" else f"{path}: extension {Path(path).suffix or '(none)'}"
        raise InputError(f"{where} does not say the format; pass --input-format {'|'.join(INPUT_FORMATS)}")
    return kind


def _decoded_lines(handle, counter: list) -> Iterator[tuple[int, str, str | None]]:
    """``(number, line, decode error)`` for each line of a binary stream; counts bytes read."""
    for number, raw in enumerate(handle, start=1):
        counter[0] += len(raw)
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield number, raw.decode("utf-8"), None
        except UnicodeDecodeError as error:
            yield number, raw.decode("utf-8", errors="replace"), f"not valid UTF-8 (byte {error.start + 1})"


def _check_text(row: Row, text, text_field: str) -> Row:
    if row.error:
        return row
    if text is None:
        row.error = f"no {text_field!r} field"
    elif not isinstance(text, str):
        row.error = f"{text_field!r} must be a string (got {type(text).__name__})"
    elif not text.strip():
        row.error = f"{text_field!r} is empty"
    elif len(text) > MAX_TEXT_CHARS:
        row.error = f"{text_field!r} has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}"
    else:
        row.text = text
    return row


def _jsonl_rows(lines, text_field: str) -> Iterator[Row]:
    for number, line, decode_error in lines:
        if not line.strip():
            continue  # blank lines carry no record
        row = Row(number, {}, error=decode_error)
        if not row.error:
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                row.error = f"not valid JSON ({error.msg} at column {error.colno})"
            else:
                if isinstance(value, dict):
                    row.fields = value
                else:
                    row.error = f"expected a JSON object, got {type(value).__name__}"
        yield _check_text(row, row.fields.get(text_field), text_field)


def _lines_rows(lines, text_field: str) -> Iterator[Row]:
    for number, line, decode_error in lines:
        text = line.rstrip("\r\n")
        yield _check_text(Row(number, {text_field: text}, error=decode_error), text, text_field)


def _csv_rows(lines, text_field: str, delimiter: str, name: str) -> Iterator[Row]:
    errors = {}  # line number -> decode error, for the lines the csv reader has consumed
    position = [0]

    def feed():
        for number, line, decode_error in lines:
            position[0] = number
            if decode_error:
                errors[number] = decode_error
            yield line

    reader = csv.reader(feed(), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise InputError(f"{name} line 1: header is not valid CSV ({error})") from None
    if header is None:
        raise InputError(f"{name} is empty: a header naming a {text_field!r} column comes first")
    if errors:
        raise InputError(f"{name} line 1: header is {errors[min(errors)]}")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(f"{name} line 1: header repeats column(s) {', '.join(map(repr, repeated))}")
    if text_field not in header:
        raise InputError(
            f"{name} line 1: header lacks a {text_field!r} column (has {', '.join(map(repr, header))}); "
            "pass --text-field"
        )
    yield header  # the columns, before any row
    while True:
        start = position[0] + 1
        errors.clear()
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Row(start, {}, error=f"not valid CSV ({error})")
            continue
        if not values:
            continue  # a blank line carries no record
        row = Row(start, {}, error=next(iter(errors.values()), None))
        if len(values) > len(header):
            row.error = row.error or f"{len(values)} fields where the header has {len(header)} columns"
        elif len(values) < len(header):
            row.error = row.error or f"{len(values)} fields where the header has {len(header)} columns"
        row.fields = dict(zip(header, values))
        yield _check_text(row, row.fields.get(text_field), text_field)


def read_rows(handle, kind: str, text_field: str, name: str, counter: list) -> tuple[list | None, Iterator[Row]]:
    """``(CSV header or None, rows)`` from a binary stream in the given input format."""
    lines = _decoded_lines(handle, counter)
    if kind == "jsonl":
        return None, _jsonl_rows(lines, text_field)
    if kind == "lines":
        return None, _lines_rows(lines, text_field)
    rows = _csv_rows(lines, text_field, "\t" if kind == "tsv" else ",", name)
    return next(rows), rows


def batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    """Rows in lists of at most ``size``."""
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- writing ---------------------------------------------------------------------------------


class JsonlWriter:
    """Writes each row as one JSON object per line."""

    def __init__(self, handle):
        self.handle = handle

    def write(self, fields: dict) -> None:
        """Write one row."""
        self.handle.write(json.dumps(fields, ensure_ascii=False) + "\n")


class CsvWriter:
    """Writes rows under a header fixed by the first batch; a later field not in it is an error."""

    def __init__(self, handle, delimiter: str, columns: list | None):
        self.writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        self.columns = columns

    def start(self, columns: list) -> None:
        """Write the header."""
        self.columns = columns
        self.writer.writerow(columns)

    def write(self, fields: dict) -> None:
        """Write one row; nested JSON values are written as JSON text, missing ones empty."""
        extra = fields.keys() - set(self.columns)
        if extra:
            raise InputError(
                f"field(s) {', '.join(map(repr, sorted(extra)))} first appear after the first batch, so "
                "the CSV header lacks them; write JSONL (--format jsonl) or a larger --batch"
            )
        self.writer.writerow([_csv_value(fields.get(c)) for c in self.columns])


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list, bool)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def output_columns(input_columns, results: list[dict], skip_bad: bool) -> list:
    """The input's columns (or the keys of the first batch) then the result columns."""
    columns = list(input_columns) if input_columns is not None else list(dict.fromkeys(k for r in results for k in r))
    ours = list(RESULT_FIELDS) + (["error"] if skip_bad else [])
    return [c for c in columns if c not in ours] + ours


# -- classifying -----------------------------------------------------------------------------


def result_fields(result: dict | None, error: str | None = None) -> dict:
    """The output columns for one classified text, or empty ones and the error for a bad row."""
    if result is None:
        return {"label": None, "p_editorial": None, "decision": None, "kind": None, "p_sarcastic": None, "error": error}
    kind = result.get("kind")
    return {
        "label": result["label"],
        "p_editorial": result["scores"]["editorial"],
        "decision": result["decision"],
        "kind": kind.get("label") if kind else None,
        "p_sarcastic": kind["scores"]["sarcastic"] if kind else None,
    }


def classify_batch(classifier, batch: list[Row], band, skip_bad: bool) -> list[dict]:
    """Output rows for a batch, in order; the first bad row stops unless ``skip_bad``."""
    good = [row for row in batch if row.error is None]
    results = iter(classifier.classify([row.text for row in good], review_band=band))
    out = []
    for row in batch:
        if row.error is None:
            fields = {**row.fields, **result_fields(next(results))}
            if skip_bad:
                fields["error"] = None
        else:
            fields = {**row.fields, **result_fields(None, f"line {row.line}: {row.error}")}
        out.append(fields)
    return out


def _open_input(path: str):
    if path == "-":
        return sys.stdin.buffer, None
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    try:
        size = os.fstat(handle.fileno()).st_size if Path(path).is_file() else None
    except OSError:
        size = None
    return handle, size


def _progress(size, quiet: bool, what: str):
    from model.progress import Progress

    if size:
        return Progress(what, total=size, unit="B", disable=quiet)
    return Progress(what, unit="rows", disable=quiet)


def _load(model, quiet: bool = False):
    """The classifier ``--model`` names (default: the store's current version), said on stderr."""
    from model.classifier import Classifier
    from model.store import locate

    path, origin = locate(model)
    classifier = Classifier.load(path)
    if not quiet:
        print(f"model {classifier.version} (from {origin})", file=sys.stderr, flush=True)
    return classifier


def _classify_rows(args, classifier, handle, size, counter, kind, out_format, name, band, out) -> dict:
    """Read, classify and write every row; the counts by decision."""
    header, rows = read_rows(handle, kind, args.text_field, name, counter)
    replaced = sorted(set(header or ()) & set(RESULT_FIELDS + ("error",)))
    if replaced:
        print(f"warning: {name}: column(s) {', '.join(replaced)} are replaced by the results", file=sys.stderr)
    writer = JsonlWriter(out) if out_format == "jsonl" else CsvWriter(out, "\t" if out_format == "tsv" else ",", None)
    counts = {"rows": 0, "bad": 0, "editorial": 0, "comment": 0, "review": 0}
    progress = _progress(size, args.quiet, "classify")
    with progress:
        for batch in batches(rows, args.batch):
            stop = None
            if not args.skip_bad:
                stop = next((row for row in batch if row.error), None)
                if stop:
                    batch = batch[: batch.index(stop)]
            results = classify_batch(classifier, batch, band, args.skip_bad)
            if isinstance(writer, CsvWriter) and writer.columns is None:
                writer.start(output_columns(header, results, args.skip_bad))
            for fields, row in zip(results, batch):
                writer.write(fields)
                counts["rows"] += 1
                if row.error:
                    counts["bad"] += 1
                else:
                    counts[fields["decision"]] += 1
            if stop:
                out.flush()
                raise InputError(f"{name} line {stop.line}: {stop.error} (pass --skip-bad to write bad rows "
                                 "with an error column and go on)")
            progress.update(counter[0] - progress.n if size else len(batch),
                            note=f"{counts['rows']:,} rows" if size else None)
        if isinstance(writer, CsvWriter) and writer.columns is None:
            writer.start(output_columns(header, [], args.skip_bad))
    return counts


def run_classify(args) -> int:
    """The ``classify`` command."""
    from model.labels import check_band

    try:
        band = check_band(args.review_band) if args.review_band else None
    except ValueError as error:
        raise InputError(f"--review-band: {error}") from None
    if args.text_field in RESULT_FIELDS + ("error",):
        raise InputError(f"--text-field {args.text_field!r} is one of the result columns; rename it")
    kind = input_format(args.file, args.input_format)
    out_format = args.format or ("jsonl" if kind == "lines" else kind)
    name = "stdin" if args.file == "-" else args.file
    classifier = _load(args.model, args.quiet)
    handle, size = _open_input(args.file)
    counter = [0]
    started = time.monotonic()
    try:
        with contextlib.ExitStack() as stack:
            if args.out and args.out != "-":
                from model.atomic import atomic_open

                if not Path(args.out).parent.is_dir():
                    raise InputError(f"cannot write {args.out}: its folder does not exist")
                try:
                    out = stack.enter_context(atomic_open(args.out, "w", encoding="utf-8", newline=""))
                except OSError as error:
                    raise InputError(f"cannot write {args.out}: {error.strerror}") from None
            else:
                out = sys.stdout
            counts = _classify_rows(args, classifier, handle, size, counter, kind, out_format, name, band, out)
            out.flush()
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()
    if not args.quiet:
        seconds = time.monotonic() - started
        print(
            f"{counts['rows']:,} rows: {counts['editorial']:,} editorial, {counts['comment']:,} comment, "
            f"{counts['review']:,} review" + (f", {counts['bad']:,} bad" if args.skip_bad else "")
            + f"; {seconds:.1f} s after loading the model ({counts['rows'] / max(seconds, 1e-9):,.0f} rows/s)",
            file=sys.stderr,
        )
    if counts["bad"]:
        print(f"warning: {counts['bad']:,} bad row(s) written with label empty and an error", file=sys.stderr)
    return EXIT_OK


# -- evaluating ------------------------------------------------------------------------------


def evaluation(labels, p_editorial, sources: dict | None) -> dict:
    """Accuracy, macro-F1, ROC-AUC, Brier score, confusion matrix (rows: truth) and per-source scores."""
    import numpy as np
    from sklearn.metrics import accuracy_score, brier_score_loss, confusion_matrix, f1_score, roc_auc_score

    from model.labels import EDITORIAL, LABELS, label_for

    p = np.frombuffer(p_editorial, dtype=float) if isinstance(p_editorial, array) else np.asarray(p_editorial, float)
    truth = np.array(labels, dtype=object)
    predicted = np.array([label_for(x) for x in p], dtype=object)
    is_editorial = truth == EDITORIAL
    result = {
        "n": len(truth),
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, labels=list(LABELS), average="macro", zero_division=0)),
        "roc_auc": float(roc_auc_score(is_editorial, p)) if len(set(is_editorial.tolist())) == 2 else None,
        "brier": float(brier_score_loss(is_editorial, p)),
        "confusion": {"labels": list(LABELS), "matrix": confusion_matrix(truth, predicted, labels=list(LABELS)).tolist()},
    }
    if sources is not None:
        result["per_source"] = {
            source: {
                "n": s["n"],
                "editorial": s["editorial"],
                "comment": s["n"] - s["editorial"],
                "accuracy": s["correct"] / s["n"],
                "mean_p_editorial": s["sum_p"] / s["n"],
            }
            for source, s in sorted(sources.items())
        }
    return result


def format_evaluation(result: dict) -> str:
    """The evaluation as plain text."""
    def number(x):
        return "n/a (one label only)" if x is None else f"{x:.4f}"

    lines = [
        f"rows       {result['n']:,}",
        f"accuracy   {number(result['accuracy'])}",
        f"macro-F1   {number(result['macro_f1'])}",
        f"ROC-AUC    {number(result['roc_auc'])}",
        f"Brier      {number(result['brier'])}",
        "",
        "confusion (rows: truth, columns: predicted)",
        f"{'':<12}" + "".join(f"{label:>12}" for label in result["confusion"]["labels"]),
    ]
    for label, counts in zip(result["confusion"]["labels"], result["confusion"]["matrix"]):
        lines.append(f"{label:<12}" + "".join(f"{c:>12,}" for c in counts))
    if "per_source" in result:
        lines += ["", f"{'source':<24}{'n':>8}{'editorial':>11}{'comment':>9}{'accuracy':>10}{'mean P(ed)':>12}"]
        for source, s in result["per_source"].items():
            lines.append(f"{source[:23]:<24}{s['n']:>8,}{s['editorial']:>11,}{s['comment']:>9,}"
                         f"{s['accuracy']:>10.4f}{s['mean_p_editorial']:>12.4f}")
    return "\n".join(lines)


def run_evaluate(args) -> int:
    """The ``evaluate`` command."""
    from model.labels import EDITORIAL, LABELS, label_for

    kind = input_format(args.file, args.input_format)
    if kind == "lines":
        raise InputError("evaluate needs a label per row: use JSONL or CSV/TSV, not plain lines")
    name = "stdin" if args.file == "-" else args.file
    classifier = _load(args.model, args.quiet)
    handle, size = _open_input(args.file)
    counter = [0]
    labels: list[str] = []  # interned label strings: one pointer a row
    interned = {label: label for label in LABELS}
    p_editorial = array("d")
    sources: dict = {}
    has_source = False  # JSONL: whether any row has a source
    try:
        header, rows = read_rows(handle, kind, args.text_field, name, counter)
        if header is not None:
            if args.label_field not in header:
                raise InputError(f"{name} line 1: header lacks a {args.label_field!r} column; pass --label-field")
            has_source = "source" in header
        with _progress(size, args.quiet, "evaluate") as progress:
            for batch in batches(rows, args.batch):
                for row in batch:
                    if row.error is None:
                        label = row.fields.get(args.label_field)
                        if label not in LABELS:
                            row.error = (f"{args.label_field!r} must be one of {', '.join(LABELS)} "
                                         f"(got {label!r:.60})")
                    if row.error:
                        raise InputError(f"{name} line {row.line}: {row.error}")
                scores = [classifier.editorial_probability(row.text) for row in batch]
                for row, p in zip(batch, scores):
                    label = interned[row.fields[args.label_field]]
                    labels.append(label)
                    p_editorial.append(p)
                    has_source = has_source or "source" in row.fields
                    source = str(row.fields.get("source") or "")
                    s = sources.setdefault(source, {"n": 0, "editorial": 0, "correct": 0, "sum_p": 0.0})
                    s["n"] += 1
                    s["editorial"] += label == EDITORIAL
                    s["correct"] += label_for(p) == label
                    s["sum_p"] += p
                progress.update(counter[0] - progress.n if size else len(batch))
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()
    if not labels:
        raise InputError(f"{name} holds no rows")
    result = evaluation(labels, p_editorial, sources if has_source else None)
    result["model"] = classifier.version
    print(json.dumps(result, indent=2) if args.json else format_evaluation(result))
    return EXIT_OK


# -- the command line ------------------------------------------------------------------------


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {number})")
    return number


def parser() -> argparse.ArgumentParser:
    """The argument parser, with one subcommand per task."""
    top = argparse.ArgumentParser(
        prog="comment-classifier",
        description="Label texts as editorial prose or reader comments, in batch.",
        epilog="Exit codes: 0 done, 2 bad input, bad arguments or no model. "
               "Run 'comment-classifier COMMAND --help' for a command's options.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sub):
        sub.add_argument("file", metavar="FILE", help="input file, or - for stdin")
        sub.add_argument("--input-format", choices=INPUT_FORMATS,
                         help="jsonl (one object a line), csv/tsv (with a header) or lines (one text a line); "
                              "default: from the extension (.jsonl .ndjson .json .csv .tsv .txt)")
        sub.add_argument("--text-field", default="text", help="the field or column holding the text (default: text)")
        sub.add_argument("--model", "--model-dir", dest="model", metavar="PATH",
                         help="a model store (its current version) or a plain model folder (default: "
                              "$COMMENT_CLASSIFIER_MODEL_DIR, else the store var/models, else the shipped model/)")
        sub.add_argument("--batch", type=_positive, default=1000, help="rows read and scored at a time (default: 1000)")
        sub.add_argument("--quiet", action="store_true", help="nothing on stderr but errors and warnings (no model line, progress or summary)")

    classify = commands.add_parser(
        "classify", help="label every row of a file",
        description="Label every row of FILE and write the rows with label, p_editorial, decision, kind and "
                    "p_sarcastic added (kind and p_sarcastic are empty unless the row is a comment and the "
                    "model has a kind model). Rows are written in input order as they are scored. A bad row "
                    "(invalid JSON, no or empty text, text over 20,000 characters, wrong number of CSV fields) "
                    "stops with exit code 2 and its line number, unless --skip-bad. Blank lines in JSONL and "
                    "CSV are not rows; in plain lines they are empty texts.",
    )
    common(classify)
    classify.add_argument("--out", help="output file, written whole or not at all (default: stdout)")
    classify.add_argument("--format", choices=OUTPUT_FORMATS,
                          help="output format (default: the input's; jsonl for plain lines)")
    classify.add_argument("--review-band", nargs=2, type=float, metavar=("LOW", "HIGH"),
                          help="decision is 'review' when LOW <= P(editorial) < HIGH (default: the model card's)")
    classify.add_argument("--skip-bad", action="store_true",
                          help="write bad rows with label empty and an 'error' naming the problem, and go on")
    classify.set_defaults(run=run_classify)

    evaluate = commands.add_parser(
        "evaluate", help="score the model on a labelled file",
        description="Score the model on a labelled JSONL or CSV/TSV file (labels: editorial, comment): accuracy, "
                    "macro-F1, ROC-AUC, Brier score, the confusion matrix, and per-source scores when rows have "
                    "a 'source' field. Any bad row stops with exit code 2 and its line number.",
    )
    common(evaluate)
    evaluate.add_argument("--label-field", default="label", help="the field or column holding the label (default: label)")
    evaluate.add_argument("--json", action="store_true", help="print the scores as JSON")
    evaluate.set_defaults(run=run_evaluate)
    return top


def main(argv=None) -> int:
    """Run the command line; return the exit code."""
    from model.artifact import ModelError

    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (InputError, ModelError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD
    except BrokenPipeError:
        # The reader went away (e.g. | head): stop quietly, and keep Python from complaining at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130
