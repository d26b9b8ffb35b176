"""Which HTML parser for POST /v1/segment with html: speed, blocks kept, and hostile input.

    python -m bench.html_parsers --data-dir ../shared/data [--pages 200]

On HTML pages built as ``python -m training.html_pages`` builds them (held-out texts, four
site templates), each parser turns a page into lines of text: lexbor through selectolax (our
``model.html_page.parse_blocks``), lxml.html (block elements' text), jusText (its paragraphs,
boilerplate included) and trafilatura (main text and comments). For each: the time for all
pages, and the share of the page's own blocks found as whole lines. Then hostile input: elements
nested thousands deep, whose text a parser must keep or refuse, in bounded time.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "li", "div", "span", "a", "button", "footer", "aside")


def lines_selectolax(html: str) -> list[str]:
    from model.html_page import parse_blocks

    return [block.text for block in parse_blocks(html)]


def lines_lxml(html: str) -> list[str]:
    import lxml.html

    root = lxml.html.document_fromstring(html)
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    out = []
    for element in root.iter():
        if element.tag in BLOCK_TAGS:
            text = " ".join((element.text or "").split())
            if text:
                out.append(text)
    return out


def lines_justext(html: str) -> list[str]:
    import justext

    return [" ".join(p.text.split()) for p in justext.justext(html.encode("utf-8"), justext.get_stoplist("English"))]


def lines_trafilatura(html: str) -> list[str]:
    import json

    import trafilatura

    result = trafilatura.extract(html, include_comments=True, output_format="json")
    data = json.loads(result) if result else {}
    text = (data.get("text") or "") + "\n" + (data.get("comments") or "")
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


PARSERS = {"selectolax (lexbor)": lines_selectolax, "lxml.html": lines_lxml, "jusText": lines_justext,
           "trafilatura": lines_trafilatura}


def main(argv: list[str] | None = None) -> int:
    """Print the comparison."""
    from model.chrome import load_strings
    from training.html_pages import TEMPLATES, render_html
    from training.pages import fold_pages, load_records, make_folds

    parser = argparse.ArgumentParser(prog="python -m bench.html_parsers", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("COMMENT_CLASSIFIER_DATA"))
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args(argv)
    strings = load_strings()
    records, order = load_records(args.data_dir)
    fold = make_folds(records, strings)[0]
    pages = fold_pages(fold, records, order, strings, args.pages, 0)
    rng = random.Random(7)
    htmls = [render_html(page, rng.choice(TEMPLATES)) for page in pages]
    print(f"{len(pages)} pages, {sum(len(h) for h in htmls) / len(htmls):.0f} characters each on average")
    for name, lines_of in PARSERS.items():
        started = time.perf_counter()
        found = total = 0
        for page, html in zip(pages, htmls):
            lines = set(lines_of(html))
            total += len(page.blocks)
            found += sum(" ".join(b.split()) in lines for b in page.blocks)
        elapsed = time.perf_counter() - started
        print(f"{name:<20} {elapsed * 1000 / len(pages):7.2f} ms a page   page blocks kept as lines {found / total:.3f}")
    print("hostile input (time, characters of text kept):")
    for depth in (1_000, 5_000, 20_000):
        html = "<div>" * depth + "deep text" + "</div>" * depth
        for name, lines_of in (("selectolax (lexbor)", lines_selectolax), ("lxml.html", lines_lxml)):
            started = time.perf_counter()
            kept = sum(len(line) for line in lines_of(html))
            print(f"  {depth:>6} nested divs  {name:<20} {time.perf_counter() - started:7.3f} s  text kept {kept}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
