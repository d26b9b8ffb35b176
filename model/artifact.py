"""Save, verify and load a model version: the ``ModelBundle`` type, its artifact file and its JSON card.

A version is a ``ModelBundle``: the classifier pipeline, the optional comment-kind pipeline, the
fitted page-segmentation parameters and the model card. ``save`` writes the pipelines to
``classifier-<version>.joblib`` and the card to ``card.json``; ``load`` reads them back as a
bundle. The file is joblib's, holding the pipelines pickled by the standard pickler (``PICKLED``):
joblib reads a file with a pickler written in Python, which took 1.3 s over the vocabularies'
235,000 strings, where the C unpickler takes about 0.1 s. Older files, the pipelines pickled by
joblib itself, still load. joblib runs code when it loads a file, so nothing is loaded unless its sha256 matches the
card and the card's scikit-learn version is the installed one. The card is written last and names
its artifact file, so a reader always sees a complete, matching pair: a crash mid-save leaves
the previous pair in force.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from dataclasses import dataclass, field, replace
from pathlib import Path

import joblib
import sklearn
from sklearn.pipeline import Pipeline

from model.atomic import atomic_open, write_atomically
from model.segment import SegmentParams

CARD_FILE = "card.json"
# The artifact file's one key when it holds the pipelines as standard pickle bytes (see above).
PICKLED = "pickled"
DEFAULT_DIR = Path(__file__).resolve().parent


class ModelError(Exception):
    """The model cannot be loaded; the message says what to do."""


class ModelNotFound(ModelError):
    """No card or no artifact in the model folder."""


class ModelVerificationError(ModelError):
    """The artifact does not match its card, or was made by another scikit-learn."""


@dataclass(frozen=True)
class ModelBundle:
    """One model version as the code handles it.

    ``classifier`` tells editorial from comment; ``kind`` (optional) tells a sarcastic comment from
    an opinion; ``segment_params`` are the page segmenter's fitted costs, which are not per-version
    data: they come from ``model/segment_data/params.json`` (``SegmentParams.fitted``), read when
    the bundle is made so that a broken file stops start-up; ``card`` is the model card.
    """

    classifier: Pipeline
    kind: Pipeline | None = None
    segment_params: SegmentParams = field(default_factory=SegmentParams.fitted)
    card: dict = field(default_factory=dict)

    @classmethod
    def of(cls, artifact, card: dict | None = None) -> "ModelBundle":
        """A bundle from what an artifact file holds (``{"classifier", "kind"}``, or a bare pipeline,
        as the oldest versions in a store do) or from a bundle; ``card`` replaces its card."""
        if isinstance(artifact, ModelBundle):
            return artifact if card is None else replace(artifact, card=card)
        if isinstance(artifact, dict):
            unknown = set(artifact) - {"classifier", "kind"}
            if unknown or "classifier" not in artifact:
                raise ModelVerificationError(f"the artifact holds {sorted(artifact)}; expected 'classifier' "
                                             "and optionally 'kind': retrain with 'make train'")
            return cls(artifact["classifier"], artifact.get("kind"), card=card or {})
        return cls(artifact, card=card or {})

    def artifact(self) -> dict:
        """What the artifact file holds: the pipelines (the card is its own file, the segmentation
        parameters belong to the code's data)."""
        return {"classifier": self.classifier, "kind": self.kind}


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save(bundle: ModelBundle, card: dict, directory: Path = DEFAULT_DIR) -> dict:
    """Write the bundle's ``classifier-<version>.joblib`` and then ``card`` naming it; return the card.

    ``bundle`` may also be a bare pipeline (see ``ModelBundle.of``).
    """
    bundle = ModelBundle.of(bundle)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    version = card["version"]
    path = directory / f"classifier-{version}.joblib"
    with atomic_open(path, "wb") as handle:
        joblib.dump({PICKLED: pickle.dumps(bundle.artifact(), protocol=5)}, handle, compress=3)
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


def load(directory: Path = DEFAULT_DIR) -> ModelBundle:
    """Verify the artifact against its card, then load both as a ``ModelBundle``.

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
    held = joblib.load(io.BytesIO(data))
    if isinstance(held, dict) and set(held) == {PICKLED}:
        held = pickle.loads(held[PICKLED])  # verified bytes, as joblib's are (see the module's doc)
    return ModelBundle.of(held, card)
