"""The model: pipeline definition, artifact verification and classification. No web code here."""

from model.artifact import ModelBundle, ModelError, ModelNotFound, ModelVerificationError
from model.classifier import Classifier
from model.labels import COMMENT, EDITORIAL, LABELS

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
