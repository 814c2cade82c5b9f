"""Topic taxonomies written in YAML: names, descriptions and example sentences.

A company describes its own topics and gets a working few-shot classifier (nearest
centroid over the embeddings of each topic's description and examples) without a
training run::

    topics:
      - name: delivery_shipping
        description: Late, lost or damaged deliveries; courier; shipping address.
        examples:
          - My parcel has not arrived after two weeks.
          - سفارشم هنوز نرسیده و پیک جواب نمیده

Every entry is validated on load; an error names the entry (its position and name) and
the field that is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from feedback.errors import ConfigError

__all__ = ["Taxonomy", "TopicSpec", "load_taxonomy"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class TopicSpec(BaseModel):
    """One topic: a snake_case name, what it covers, and example sentences (any language)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = Field(min_length=3)
    examples: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _snake_case(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"expected a snake_case name such as 'billing_payment'; found {value!r}")
        return value

    @field_validator("examples")
    @classmethod
    def _non_empty_examples(cls, value: list[str]) -> list[str]:
        if any(not str(v).strip() for v in value):
            raise ValueError("expected non-empty example sentences; found an empty one")
        return value

    def sentences(self) -> list[str]:
        """The description followed by the examples: what the few-shot centroid is built from."""
        return [self.description, *self.examples]


class Taxonomy(BaseModel):
    """A list of topics; names are unique and there are at least two."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topics: list[TopicSpec] = Field(min_length=2)

    @model_validator(mode="after")
    def _unique(self) -> Taxonomy:
        seen: set[str] = set()
        for t in self.topics:
            if t.name in seen:
                raise ValueError(f"expected unique topic names; found {t.name!r} twice")
            seen.add(t.name)
        return self

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.topics]


def load_taxonomy(path: Path) -> Taxonomy:
    """Read and validate a taxonomy YAML file.

    >>> from classifiers.model import ARTIFACTS
    >>> load_taxonomy(ARTIFACTS / "taxonomy.yaml").names[:2]
    ['account', 'billing_payment']
    """
    if not path.is_file():
        raise ConfigError(f"expected a taxonomy YAML file at {path}; found no such file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"expected valid YAML in taxonomy {path}; found a syntax error: {e}") from e
    if not isinstance(raw, dict) or "topics" not in raw:
        raise ConfigError(f"expected a mapping with a 'topics:' list in {path}; found {type(raw).__name__}")
    try:
        return Taxonomy.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        loc = list(err["loc"])
        where = "taxonomy"
        if len(loc) >= 2 and loc[0] == "topics" and isinstance(loc[1], int):
            entries = raw.get("topics") or []
            entry = entries[loc[1]] if loc[1] < len(entries) else {}
            name = entry.get("name") if isinstance(entry, dict) else None
            field = ".".join(str(p) for p in loc[2:]) or "entry"
            where = f"topic #{loc[1] + 1} ({name!r}), field {field!r}"
        raise ConfigError(f"invalid taxonomy {path}: {where}: {err['msg']}; fix that entry") from e
