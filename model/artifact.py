"""Save, verify and load the model artifact: one pipeline file plus its JSON model card.

joblib runs code when it loads a file, so nothing is loaded unless its sha256 matches the card
and the card's scikit-learn version is the installed one. The card is written last and names
its artifact file, so a reader always sees a complete, matching pair: a crash mid-save leaves
the previous pair in force.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import joblib
import sklearn

from model.atomic import atomic_open, write_atomically

CARD_FILE = "card.json"
DEFAULT_DIR = Path(__file__).resolve().parent


class ModelError(Exception):
    """The model cannot be loaded; the message says what to do."""


class ModelNotFound(ModelError):
    """No card or no artifact in the model folder."""


class ModelVerificationError(ModelError):
    """The artifact does not match its card, or was made by another scikit-learn."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save(artifact, card: dict, directory: Path = DEFAULT_DIR) -> dict:
    """Write ``classifier-<version>.joblib`` (a pipeline, or a mapping of pipelines) and then
    the card that names it; return the card."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    version = card["version"]
    path = directory / f"classifier-{version}.joblib"
    with atomic_open(path, "wb") as handle:
        joblib.dump(artifact, handle, compress=3)
    card = {
        **card,
        "artifact": {
            "file": path.name,
            "sha256": sha256_of(path),
            "bytes": path.stat().st_size,
        },
    }
    text = json.dumps(card, indent=2, sort_keys=False) + "\n"
    write_atomically(directory / CARD_FILE, text)
    for old in directory.glob("classifier-*.joblib"):
        if old.name != path.name:
            old.unlink(missing_ok=True)
    return card


def read_card(directory: Path = DEFAULT_DIR) -> dict:
    """The model card in ``directory``, or ModelNotFound."""
    path = Path(directory) / CARD_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelNotFound(
            f"no model card at {path}: train a model with 'make train' or point "
            "COMMENT_CLASSIFIER_MODEL_DIR at a folder holding card.json and its artifact"
        ) from None
    except json.JSONDecodeError as error:
        raise ModelVerificationError(f"model card {path} is not valid JSON ({error})") from None


def load(directory: Path = DEFAULT_DIR) -> tuple[object, dict]:
    """Verify the artifact against its card, then load it: (artifact, card).

    ``directory`` is a plain model folder or a model store (``model.store``), which stands for its
    current version's folder.
    """
    from model.store import resolve  # imported here: model.store itself builds on this module

    directory = resolve(directory)
    card = read_card(directory)
    try:
        expected = card["artifact"]["sha256"]
        artifact = directory / card["artifact"]["file"]
        trained_with = card["versions"]["scikit-learn"]
    except (KeyError, TypeError):
        raise ModelVerificationError(
            f"model card {directory / CARD_FILE} lacks artifact.file, artifact.sha256 or "
            "versions.scikit-learn: retrain with 'make train'"
        ) from None
    if Path(card["artifact"]["file"]).name != card["artifact"]["file"]:
        raise ModelVerificationError("model card names an artifact outside its own folder")
    if not artifact.is_file():
        raise ModelNotFound(f"model card names {artifact.name}, which is not in {directory}: retrain with 'make train'")
    # Read once, verify those bytes, load those bytes: the file cannot change in between.
    data = artifact.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ModelVerificationError(
            f"{artifact.name} has sha256 {actual[:12]}..., but its card says {expected[:12]}...: "
            "the file was changed or truncated; restore it (git checkout model/) or retrain with 'make train'"
        )
    if trained_with != sklearn.__version__:
        raise ModelVerificationError(
            f"the model was trained with scikit-learn {trained_with} but {sklearn.__version__} is "
            f"installed: install scikit-learn=={trained_with} (pip install -e .) or retrain with 'make train'"
        )
    return joblib.load(io.BytesIO(data)), card
