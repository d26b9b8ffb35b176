"""A folder of model versions with a pointer to the current one.

    <store>/current.json                  {"version", "previous": [newest first], "switched"}
    <store>/versions/<v>/card.json        each version is a complete, verified artifact pair
    <store>/versions/<v>/classifier-<v>.joblib

A version folder is written under a hidden temporary name and renamed into place when whole, and
is never changed afterwards. The pointer is one small JSON file replaced atomically (temporary
file, fsync, rename, fsync of the folder), so a reader sees the old current version or the new
one, never a mix, and a crash between writing a version and switching to it leaves the old one
in force. Backing a store up is copying the folder.

    python -m model.store init --store var/models [--seed model/]
    python -m model.store list --store var/models
    python -m model.store rollback --store var/models
    python -m model.store promote VERSION --store var/models
    python -m model.store export --store var/models --to model   # make ship: publish the seed

The store is the one model home: training adds versions to it, and the service, the batch CLI,
the report and the benchmark read its current version (``locate``). The plain folder ``model/``
holds only the shipped seed version, which ``init`` copies into an empty store and ``export``
replaces with a store's current version.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from model.artifact import CARD_FILE, DEFAULT_DIR, ModelError, ModelNotFound, read_card, save, sha256_of
from model.atomic import atomic_path, fsync_dir, write_atomically

POINTER_FILE = "current.json"
VERSIONS_DIR = "versions"
LOCK_FILE = ".lock"
DEFAULT_STORE = Path("var/models")
MODEL_SETTING = "COMMENT_CLASSIFIER_MODEL_DIR"  # the service's setting; the CLI and report read it too
ANY = object()  # promote(if_current=ANY): whatever the current version is


class StoreError(ModelError):
    """The store cannot do what was asked; the message says why and what to run."""


def is_store(path) -> bool:
    """True when ``path`` is a model store (it has a pointer or a versions folder)."""
    path = Path(path)
    return (path / POINTER_FILE).is_file() or (path / VERSIONS_DIR).is_dir()


def _read_pointer(root: Path) -> dict | None:
    try:
        pointer = json.loads((root / POINTER_FILE).read_text())
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as error:
        raise StoreError(f"{root / POINTER_FILE} is not valid JSON ({error}): restore it from a backup") from None
    if not isinstance(pointer, dict) or not isinstance(pointer.get("version"), str):
        raise StoreError(f"{root / POINTER_FILE} lacks a 'version': restore it from a backup")
    return pointer


def current_version(path) -> str | None:
    """The current version of the store at ``path`` (None for a plain model folder or an empty store).

    Reads the small pointer file only, so a server can call it on every check for a new model.
    """
    pointer = _read_pointer(Path(path))
    return None if pointer is None else pointer["version"]


def resolve(path) -> Path:
    """The folder holding the model to load: a store's current version, or a plain folder itself."""
    path = Path(path)
    if not is_store(path):
        return path
    version = current_version(path)
    if version is None:
        raise ModelNotFound(
            f"the model store {path} has no current version: run 'python -m model.store init --store {path}' "
            "to seed it with the shipped model, or 'make retrain'"
        )
    return path / VERSIONS_DIR / version


def locate(path=None, store=DEFAULT_STORE, seed=DEFAULT_DIR) -> tuple[Path, str]:
    """``(what to load, where it comes from)`` for the commands that read a model.

    ``path`` (``--model``), else ``$COMMENT_CLASSIFIER_MODEL_DIR``, else the store's current
    version; a store without one (not created yet, or empty) falls back to the shipped seed in
    ``model/``, and the second item says so. A store whose pointer is damaged raises StoreError
    rather than falling back silently.
    """
    if path is not None:
        return Path(path), str(path)
    if os.environ.get(MODEL_SETTING):
        return Path(os.environ[MODEL_SETTING]), f"{os.environ[MODEL_SETTING]} (${MODEL_SETTING})"
    if current_version(store) is not None:
        return Path(store), f"the model store {store}"
    return Path(seed), (f"the shipped seed model in {_shown(seed)}, since the model store {store} has no current "
                        "version yet (make train or make run creates it)")


def _shown(path) -> str:
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd())) + "/"
    except ValueError:
        return str(path)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _check_name(version: str) -> str:
    if not isinstance(version, str) or not version or version.startswith(".") or Path(version).name != version:
        raise StoreError(f"{version!r} is not a valid version name")
    return version


class ModelStore:
    """The versions in one store folder, and the pointer to the current one."""

    def __init__(self, root=DEFAULT_STORE):
        self.root = Path(root)
        self.versions_dir = self.root / VERSIONS_DIR

    # --- reading ---------------------------------------------------------------------------

    def pointer(self) -> dict | None:
        """The parsed ``current.json``, or None before the first promotion."""
        return _read_pointer(self.root)

    def path_of(self, version: str) -> Path:
        """The folder of ``version``; StoreError if the store has no such version."""
        folder = self.versions_dir / _check_name(version)
        if not (folder / CARD_FILE).is_file():
            known = ", ".join(card["version"] for card in self.versions()) or "none"
            raise StoreError(f"no version {version!r} in {self.root} (versions: {known})")
        return folder

    def card(self, version: str) -> dict:
        """The card of ``version``."""
        return read_card(self.path_of(version))

    def versions(self) -> list[dict]:
        """The card of every complete version, oldest first."""
        if not self.versions_dir.is_dir():
            return []
        cards = []
        for folder in self.versions_dir.iterdir():
            if folder.name.startswith(".") or not (folder / CARD_FILE).is_file():
                continue  # a version still being written, or left half-written by a crash
            card = read_card(folder)
            written = (folder / CARD_FILE).stat().st_mtime_ns
            created = card.get("created") or dt.datetime.fromtimestamp(
                written / 1e9, dt.timezone.utc).replace(microsecond=0).isoformat()
            # "created" has whole seconds: two versions made in one second go by when their card was written.
            cards.append((created, written, folder.name, card))
        return [item[-1] for item in sorted(cards, key=lambda item: item[:3])]

    def current(self) -> dict | None:
        """The current version's card, or None when nothing has been promoted."""
        pointer = self.pointer()
        return None if pointer is None else self.card(pointer["version"])

    # --- writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self):
        """One writer at a time: promotions are read-modify-write of the pointer."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK_FILE, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def init(self) -> None:
        """Create the store's folders (idempotent)."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)

    def _install(self, version: str, write) -> Path:
        """Write a version into a hidden folder with ``write(folder)``, then rename it into place."""
        self.init()
        final = self.versions_dir / _check_name(version)
        if final.exists():
            raise StoreError(f"version {version!r} is already in {self.root}")
        staging = Path(tempfile.mkdtemp(dir=self.versions_dir, prefix=f".{version}."))
        try:
            os.chmod(staging, 0o755)  # mkdtemp's 0700 would hide the version from a server run as another user
            write(staging)
            for path in staging.iterdir():
                os.chmod(path, 0o644)  # artifact.save writes through 0600 temporary files
            fsync_dir(staging)
            os.rename(staging, final)
            fsync_dir(self.versions_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return final

    def add(self, artifact, card: dict) -> dict:
        """Store a new version (artifact and card) without making it current; return its card."""
        saved = {}
        self._install(card["version"], lambda folder: saved.update(save(artifact, card, directory=folder)))
        return saved

    def promote(self, version: str, if_current: str | None | object = ANY) -> dict:
        """Make ``version`` current; the old current goes on top of ``previous``. Returns the pointer.

        ``if_current`` (a version, or None for an empty store) switches only if that is still the
        current version, so a candidate gated against one model never silently replaces another.
        """
        self.check(version)
        with self._locked():
            old = self.pointer()
            now = None if old is None else old["version"]
            if if_current is not ANY and now != if_current:
                raise StoreError(f"the current version changed from {if_current} to {now} in {self.root} "
                                 f"while {version} was being made; {version} is stored but not current")
            if old is not None and old["version"] == version:
                return old
            previous = [] if old is None else [old["version"], *old.get("previous", [])]
            pointer = {"version": version, "previous": [v for v in previous if v != version], "switched": _now()}
            self._write_pointer(pointer)
        return pointer

    def check(self, version: str) -> None:
        """StoreError unless ``version``'s artifact is whole and matches its card's sha256."""
        folder = self.path_of(version)
        card = read_card(folder)
        artifact = folder / Path(str(card.get("artifact", {}).get("file", ""))).name
        if not artifact.is_file() or sha256_of(artifact) != card["artifact"].get("sha256"):
            raise StoreError(f"version {version!r} in {self.root} is incomplete or damaged: its artifact "
                             "does not match its card; it cannot be made current")

    def rollback(self) -> str:
        """Make the previous version current again and return it; StoreError if there is none."""
        with self._locked():
            old = self.pointer()
            if old is None:
                raise StoreError(f"the model store {self.root} has no current version, so nothing to roll back")
            previous = list(old.get("previous", []))
            if not previous:
                raise StoreError(f"version {old['version']} is the only one ever made current in {self.root}: "
                                 "there is no previous version to roll back to")
            version = previous.pop(0)
            self.check(version)  # never roll back onto a model the service would refuse
            self._write_pointer({"version": version, "previous": previous, "switched": _now()})
        return version

    def _write_pointer(self, pointer: dict) -> None:
        write_atomically(self.root / POINTER_FILE, json.dumps(pointer, indent=2) + "\n", file_mode=0o644)

    def seed(self, from_dir=DEFAULT_DIR) -> str:
        """Copy a plain model folder in as the first version and make it current, if the store has
        no current version yet; otherwise change nothing. Returns the current version."""
        pointer = self.pointer()
        if pointer is not None:
            return pointer["version"]
        from_dir = Path(from_dir)
        card = read_card(from_dir)
        try:
            version, name, digest = card["version"], card["artifact"]["file"], card["artifact"]["sha256"]
        except (KeyError, TypeError):
            raise StoreError(f"the card in {from_dir} lacks version or artifact: it is not a model folder") from None
        source = from_dir / Path(name).name
        if not source.is_file() or sha256_of(source) != digest:
            raise StoreError(f"{source} is missing or does not match its card: restore it before seeding")
        if not (self.versions_dir / _check_name(version) / CARD_FILE).is_file():
            def copy(folder: Path) -> None:
                shutil.copy2(source, folder / source.name)
                shutil.copy2(from_dir / CARD_FILE, folder / CARD_FILE)
                for path in (folder / source.name, folder / CARD_FILE):
                    with open(path, "rb") as handle:
                        os.fsync(handle.fileno())

            self._install(version, copy)
        self.promote(version)
        return version

    def export(self, to_dir, version: str | None = None) -> tuple[str, str | None]:
        """Publish ``version`` (default: the current one) as the plain model folder ``to_dir``.

        The artifact is copied in beside the old one under a temporary name, checked against the
        card's sha256, and renamed into place; then the card is replaced (the moment the new seed
        takes over), then the old artifact goes. A failure at any step leaves the old seed whole.
        Returns ``(published version, version it replaced or None)``.
        """
        if version is None:
            version = current_version(self.root)
            if version is None:
                raise StoreError(f"the model store {self.root} has no current version to export")
        self.check(version)
        to_dir = Path(to_dir)
        if is_store(to_dir):
            raise StoreError(f"{to_dir} is a model store, not a plain model folder: export writes a seed folder")
        folder = self.path_of(version)
        card_text = (folder / CARD_FILE).read_text()
        card = json.loads(card_text)
        name = Path(card["artifact"]["file"]).name
        try:
            old = read_card(to_dir).get("version")
        except ModelError:
            old = None
        to_dir.mkdir(parents=True, exist_ok=True)
        if old != version or not (to_dir / name).is_file() or sha256_of(to_dir / name) != card["artifact"]["sha256"]:
            with atomic_path(to_dir / name, 0o644) as tmp:
                shutil.copyfile(folder / name, tmp)
                if sha256_of(tmp) != card["artifact"]["sha256"]:
                    raise StoreError(f"the copy of {name} does not match its card: {to_dir} is unchanged")
            write_atomically(to_dir / CARD_FILE, card_text, file_mode=0o644)
        for stale in to_dir.glob("classifier-*.joblib"):
            if stale.name != name:
                stale.unlink(missing_ok=True)
        return version, old


# --- command line ------------------------------------------------------------------------------


def _metric(card: dict, *keys) -> str:
    value = card
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return f"{value:.4f}" if isinstance(value, (int, float)) else "-"


def format_versions(store: ModelStore) -> str:
    """The ``list`` table: one line per version, oldest first, the current one marked."""
    current = current_version(store.root)
    header = f"  {'version':<34}{'created':<27}{'held-out F1':>12}{'LOSO F1':>9}{'feedback':>11}{'forced':>8}"
    lines = [header]
    for card in store.versions():
        feedback = card.get("feedback") or {}
        used = f"{feedback.get('train', 0)}/{feedback.get('held_out', 0)}" if feedback else "-"
        forced = "yes" if card.get("forced") else "no"
        marker = "*" if card["version"] == current else " "
        lines.append(
            f"{marker} {card['version']:<34}{str(card.get('created', '-')):<27}"
            f"{_metric(card, 'metrics', 'held_out', 'macro_f1'):>12}"
            f"{_metric(card, 'metrics', 'leave_one_source_out', 'pooled', 'macro_f1'):>9}"
            f"{used:>11}{forced:>8}"
        )
    lines.append("(* marks the current version; feedback: moderator rows used for training/held out for the gate)")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m model.store``."""
    parser = argparse.ArgumentParser(prog="python -m model.store", description="Versioned model store.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", type=Path, default=DEFAULT_STORE, help=f"store folder (default: {DEFAULT_STORE})")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", parents=[common],
                               help="create the store; seed it with a model folder if it has no current version")
    init.add_argument("--seed", type=Path, default=DEFAULT_DIR,
                      help="plain model folder to copy in as the first version (default: the shipped model/)")
    init.add_argument("--no-seed", dest="seed", action="store_const", const=None, help="create the folders only")
    commands.add_parser("list", parents=[common], help="list the versions with their metrics")
    commands.add_parser("rollback", parents=[common], help="make the previous version current again")
    promote = commands.add_parser("promote", parents=[common], help="make VERSION current")
    promote.add_argument("version")
    export = commands.add_parser("export", parents=[common],
                                 help="publish a version (default: the current one) as a plain model folder, "
                                      "e.g. the shipped seed in model/ (make ship)")
    export.add_argument("--to", type=Path, default=DEFAULT_DIR,
                        help="plain model folder to replace (default: the shipped model/)")
    export.add_argument("--version", help="the version to export (default: the current one)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one store command; 0 on success, 2 with a message on stderr otherwise."""
    args = build_parser().parse_args(argv)
    store = ModelStore(args.store)
    try:
        if args.command == "init":
            store.init()
            if args.seed is None:
                print(f"model store {store.root} ready ({current_version(store.root) or 'no current version'})")
            else:
                had = current_version(store.root)
                version = store.seed(args.seed)
                print(f"model store {store.root}: current version {version}"
                      + ("" if had else f" (seeded from {args.seed})"))
            return 0
        if not is_store(store.root):
            raise StoreError(f"no model store at {store.root}: create one with "
                             f"'python -m model.store init --store {store.root}'")
        if args.command == "list":
            print(format_versions(store))
        elif args.command == "rollback":
            old = current_version(store.root)
            version = store.rollback()
            print(f"rolled back from {old} to {version}")
        elif args.command == "promote":
            pointer = store.promote(args.version)
            print(f"current version is now {pointer['version']}")
        elif args.command == "export":
            version, old = store.export(args.to, args.version)
            print(f"{args.to}: shipped seed is now {version}" + (f" (was {old})" if old and old != version else
                                                                 " (unchanged)" if old == version else ""))
        return 0
    except (ModelError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
