"""The model: pipeline definition, artifact verification and classification. No web code here.

The package's names are loaded when first used (PEP 562): ``model.labels`` alone, which the
feedback store imports, must not bring scikit-learn, SciPy and the classifier with it.
"""

from importlib import import_module

from model.labels import COMMENT, EDITORIAL, LABELS

_LAZY = {
    "Classifier": "model.classifier",
    "ModelBundle": "model.artifact",
    "ModelError": "model.artifact",
    "ModelNotFound": "model.artifact",
    "ModelVerificationError": "model.artifact",
}

__all__ = [
    "COMMENT",
    "Classifier",
    "EDITORIAL",
    "LABELS",
    "ModelBundle",
    "ModelError",
    "ModelNotFound",
    "ModelVerificationError",
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'model' has no attribute {name!r}")
