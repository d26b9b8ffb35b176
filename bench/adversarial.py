"""Adversarial texts: the shapes that made text handling quadratic, at the length limit.

Each family repeats a short piece (a space before a lone dash, an unclosed tag, a doubly escaped
entity, a run of full stops...) up to ``MAX_CHARS``. ``tests/test_text_linear.py`` scores them,
and texts hypothesis builds the same way, under a generous bound; ``python -m bench.adversarial``
(a line of ``make bench``) prints the slowest it finds, in milliseconds, for each path: scoring,
explaining, and Perspective's analyze with span annotations.
"""

from __future__ import annotations

import argparse
import time

MAX_CHARS = 20_000

# (prefix, piece repeated, suffix): each once quadratic somewhere, or close to a pattern that was.
FAMILIES = {
    "spaces then -x": ("", " ", "-x"),
    "tabs then -x": ("", "\t", "-x"),
    "space dash": ("", " -", ""),
    "unclosed <p": ("", "<p ", ""),
    "unclosed <br": ("", "<br ", ""),
    "doubly escaped &amp;": ("&", "amp;", "lt;"),
    "nested &#38;": ("&", "#38;", "lt;"),
    "nested &amp without ;": ("&", "amp", "lt;"),
    "&amp without ;": ("", "&amp", ""),
    "ampersands": ("", "&", ""),
    "numeric reference digits": ("&#", "9", ";"),
    "a, dots, b": ("a", ".", "b"),
    "dots with closing quotes": ("a.", '"', "b"),
    "sentences": ("", "Ab. ", ""),
    "question marks": ("x", "?", "Y"),
    "glued commas": ("", "a,", ""),
    "apostrophes": ("", "a'", ""),
    "zero-width": ("a", "\u200b", "b"),
    "combining marks": ("a", "\u0301", ""),
    "emoticon tokens": ("", "emoticonX", ""),
    "tex quotes": ("", "``''", ""),
    "one long word": ("", "a", ""),
    "capitals": ("", "ABSOLUTELY ", ""),
    "digits and dots": ("", "1.", ""),
    # Short non-ASCII runs, thousands of them: curly apostrophes, accented words, CJK between spaces.
    "curly apostrophes": ("", "a\u2019", ""),
    "accented words": ("", "\u00e9 ", ""),
    "CJK and spaces": ("", "\u4e2d\u6587 ", ""),
    # Found by a random search over pieces (2026-12-03): a combining mark after each space (10,000
    # runs of a space and a mark, folded one run at a time), and glued abbreviations ("Mr.Mr.",
    # each a glued sentence end, its space once inserted by a template expanded in Python).
    "marks after spaces": ("", "\u0301 ", ""),
    "glued abbreviations": ("", "Mr.", ""),
}


def fill(prefix: str, piece: str, suffix: str, length: int = MAX_CHARS) -> str:
    """``prefix``, then ``piece`` repeated, then ``suffix``, cut to ``length`` characters."""
    room = max(0, length - len(prefix) - len(suffix))
    return (prefix + piece * (room // max(1, len(piece)) + 1))[: length - len(suffix)] + suffix


def texts(length: int = MAX_CHARS) -> dict[str, str]:
    """Every family at ``length`` characters."""
    return {name: fill(*parts, length=length) for name, parts in FAMILIES.items()}


# The atoms ``--search`` builds shapes from: pieces of the families and of what scrapers and
# attackers send (abbreviations, marks, surrogates, references, tags, typography).
ATOMS = [" ", "\t", "\n", "-", "a", "A", "Ab", ".", ",", "?", "!", "'", '"', "\u2019", "\u201c", "&", "amp;", "#",
         "9", ";", "<", ">", "p", "br", "/", "\u200b", "\u0301", "\u4e2d", "\u00e9", "emoticon", "X", "``", "''",
         ":", ")", "(", "http://", "@", "_", "*", "\U0001F600", "\ud83d", "\u00a0", "\r", "...", "--", "$", "1",
         "\\", "\u0627", "\ufeff", "&#x", "lt;", "=", "%20", "Mr.", "U.S.", "e.g."]


def random_shape(rng) -> tuple[str, str, str]:
    """A (prefix, piece, suffix) of ``ATOMS``, as the families are: a piece of one to six atoms."""
    def atoms(low: int, high: int) -> str:
        return "".join(rng.choice(ATOMS) for _ in range(rng.randint(low, high)))

    return atoms(0, 2), atoms(1, 6), atoms(0, 2)


def search(function, seconds: float, seed: int = 0, clock=time.process_time,
           length: int = MAX_CHARS) -> tuple[float, tuple[str, str, str] | None, int]:
    """Random shapes (``random_shape``) filled to ``length`` and passed to ``function`` for
    ``seconds`` of the clock: the slowest (its time by ``clock``, a new worst timed again and its
    faster run kept), its shape, and how many were tried."""
    import random

    rng = random.Random(seed)
    worst, shape, tried = 0.0, None, 0
    ends = time.perf_counter() + seconds
    while time.perf_counter() < ends:
        parts = random_shape(rng)
        text = fill(*parts, length=length)
        tried += 1
        elapsed = timed(function, text, clock=clock)
        if elapsed > worst:
            elapsed = min(elapsed, timed(function, text, clock=clock))
            if elapsed > worst:
                worst, shape = elapsed, parts
    return worst, shape, tried


def timed(function, *args, clock=time.perf_counter) -> float:
    """Seconds ``function(*args)`` takes (by ``clock``: the wall clock unless told)."""
    started = clock()
    function(*args)
    return clock() - started


def paths(classifier, perspective_client=None):
    """``{name: function(text)}``: scoring, explaining and, given a Flask test client of the
    service, Perspective's analyze with span annotations."""
    chosen = {
        "score": lambda text: classifier.classify([text]),
        "explain": lambda text: classifier.classify([text], explain=True, explain_top=100),
    }
    if perspective_client is not None:
        from service.integrations.perspective import MAX_COMMENT_BYTES
        from service.validation import is_blank

        def analyze(text):
            # Perspective's limit is in bytes: a text of multi-byte characters is cut to it.
            text = text.encode("utf-8")[:MAX_COMMENT_BYTES].decode("utf-8", "ignore")
            # A text of invisible characters only (once cut) is refused as empty, quickly: that is
            # the right answer, and its time counts as well.
            expected = 400 if is_blank(text) else 200
            response = perspective_client.post(
                "/v1alpha1/comments:analyze",
                json={"comment": {"text": text}, "languages": ["en"], "spanAnnotations": True,
                      "requestedAttributes": {"EDITORIAL": {}, "COMMENT": {}}})
            assert response.status_code == expected, response.get_data(as_text=True)[:200]
        chosen["perspective spans"] = analyze
    return chosen


def main(argv: list[str] | None = None) -> int:
    from pathlib import Path

    from model import Classifier
    from service import create_app

    parser = argparse.ArgumentParser(prog="python -m bench.adversarial", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=Path(__file__).resolve().parent.parent / "model")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each text; its fastest counts")
    parser.add_argument("--cpu", action="store_true",
                        help="count the process's CPU time rather than the clock (a busy machine's waits left out)")
    parser.add_argument("--families", action="store_true", help="print every family's time, not only the worst")
    parser.add_argument("--search", type=float, default=0, metavar="SECONDS",
                        help="then try random shapes of ATOMS for this long per path (score, explain) and print the worst")
    parser.add_argument("--seed", type=int, default=0, help="the random search's seed")
    args = parser.parse_args(argv)
    clock = time.process_time if args.cpu else time.perf_counter
    classifier = Classifier.load(args.model_dir)
    client = create_app({"TESTING": True, "CLASSIFIER": classifier}).test_client()
    for name, function in paths(classifier, client).items():
        # Each family's best of --repeat runs (a shared machine's pauses are not the text's cost),
        # then the worst family.
        best = {family: min(timed(function, text, clock=clock) for _ in range(args.repeat))
                for family, text in texts().items()}
        if args.families:
            for family, seconds in sorted(best.items(), key=lambda item: -item[1]):
                print(f"adversarial {name:18s} {seconds * 1000:8.1f} ms  {family!r}")
        worst = max(best, key=best.get)
        print(f"adversarial {name:18s} worst {best[worst] * 1000:8.1f} ms  ({worst!r}, {MAX_CHARS:,} characters)"
              + ("  [CPU time]" if args.cpu else ""))
    if args.search > 0:
        for name, function in paths(classifier).items():
            seconds, shape, tried = search(function, args.search, args.seed, clock)
            print(f"adversarial search {name:11s} worst {seconds * 1000:8.1f} ms  ({shape!r} filled to "
                  f"{MAX_CHARS:,} characters; {tried:,} shapes, seed {args.seed})" + ("  [CPU time]" if args.cpu else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
