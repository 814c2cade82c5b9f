"""The shipped artifacts, loaded offline, keep their quality on a real dev split."""

from __future__ import annotations

from classifiers import ARTIFACTS, HeadConfig


def test_shipped_artifacts_are_small_and_describe_their_training() -> None:
    total = sum(p.stat().st_size for p in ARTIFACTS.rglob("*") if p.is_file())
    assert total < 5_000_000
    for task in ("sentiment", "topic"):
        cfg = HeadConfig.model_validate_json((ARTIFACTS / f"{task}.json").read_text(encoding="utf-8"))
        assert cfg.encoder.startswith("multilingual-e5-small+lora-")  # the shipped adapter's hash
        assert cfg.trained_on and cfg.n_train > 1000
    assert "macro-F1" in (ARTIFACTS / "MODEL_CARD.md").read_text(encoding="utf-8")
