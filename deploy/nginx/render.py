"""Fill the placeholders of ``comment-classifier.conf`` and write a whole nginx.conf.

    python deploy/nginx/render.py --listen 0.0.0.0:8000 \
        --upstream 127.0.0.1:8001 --run-dir /run/comment-classifier \
        --out /run/comment-classifier/nginx.conf
    nginx -c /run/comment-classifier/nginx.conf -g 'daemon off;'

``--upstream`` is gunicorn's ``BIND``: a TCP address (production's: each gunicorn worker then
listens on its own socket and the kernel spreads nginx's connections over them) or
``unix:PATH``. The live tests render it the same way for ports of their own.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "comment-classifier.conf"
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


def render(values: dict[str, str], template: Path = TEMPLATE) -> str:
    """The template with every placeholder filled; ValueError naming any left without a value."""
    text = template.read_text()
    missing = sorted(set(_PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise ValueError(f"no value for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)


def write(values: dict[str, str], out: Path) -> Path:
    """Render to ``out`` atomically (a temporary file beside it, then a rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    with os.fdopen(descriptor, "w") as handle:
        handle.write(render(values))
    os.replace(temporary, out)
    return out


def upstream(args: argparse.Namespace) -> str:
    """nginx's ``server`` address for gunicorn's: ``unix:/absolute/path`` or ``HOST:PORT``."""
    address = args.upstream if args.upstream else f"unix:{args.socket}"
    if address.startswith("unix:"):
        return f"unix:{Path(address[len('unix:'):]).resolve()}"
    if not re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}", address):
        raise ValueError(f"--upstream {address!r}: expected HOST:PORT or unix:PATH (gunicorn's BIND)")
    return address


def values_from(args: argparse.Namespace) -> dict[str, str]:
    run_dir = Path(args.run_dir).resolve()
    return {
        "LISTEN": args.listen,
        "UPSTREAM": upstream(args),
        "RUN_DIR": str(run_dir),
        "NGINX_WORKERS": str(args.workers),
        "MAX_CONNS": str(args.max_conns),
        "READ_TIMEOUT": str(args.read_timeout),
        "ACCESS_LOG": "off" if args.access_log == "off" else f"{args.access_log} comment_classifier",
        "ERROR_LOG": args.error_log,
    }


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {value!r}")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="render.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:8000", help="nginx's address (default: 127.0.0.1:8000)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--upstream", help="gunicorn's address, as its BIND: HOST:PORT (e.g. 127.0.0.1:8001) or unix:PATH")
    where.add_argument("--socket", help="gunicorn's unix socket: the same as --upstream unix:PATH")
    parser.add_argument("--run-dir", required=True, help="folder for nginx's pid file and temporary files")
    parser.add_argument("--workers", default="1", help="nginx worker processes (default: 1; 'auto': one per core)")
    parser.add_argument("--max-conns", type=_positive, default=64,
                        help="scoring requests nginx lets into gunicorn at once; past it, 503 overloaded "
                             "(default: 64; with the 32 other requests, below gunicorn's BACKLOG of 128)")
    parser.add_argument("--read-timeout", type=_positive, default=30,
                        help="seconds nginx waits for gunicorn's answer; past it, 504 upstream_timeout (default: 30)")
    parser.add_argument("--access-log", default="/dev/stdout",
                        help="access log file (JSON lines, paths without query strings), or 'off' (default: stdout)")
    parser.add_argument("--error-log", default="stderr", help="nginx's error log (default: stderr)")
    parser.add_argument("--out", required=True, type=Path, help="the nginx.conf to write")
    args = parser.parse_args(argv)
    try:
        path = write(values_from(args), args.out)
    except (OSError, ValueError) as error:
        print(f"render.py: {error}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
