"""Routing: which department gets a classified item, and which rule decided it.

The configuration (``feedback/config/routing.yaml`` by default, or the file in
``settings.stream.routing``) lists departments, a topic → department map and ordered
override rules; the first rule whose conditions all hold wins, then the topic map, then
the default department. :func:`load_routing` validates it and names the file, line and
entry of anything wrong.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from feedback.errors import ConfigError
from feedback.schema import CHANNELS, Classification

__all__ = ["Department", "RoutingConfig", "RoutingDecision", "Rule", "RuleCondition", "load_routing", "route"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Department(_Model):
    """A team that receives feedback, with its index suffix (alias ``<prefix>-<index>``)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    index: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="index suffix: <prefix>-<index>")


_URGENCIES: tuple[str, ...] = ("low", "normal", "high")


class RuleCondition(_Model):
    """Conditions of one rule; a rule matches when every condition it names holds.

    Lists match any of their values; ``min_topic_score`` is inclusive and
    ``max_topic_score`` exclusive, so ``max_topic_score: 0.35`` means "below 0.35".
    """

    channel: list[str] | None = None
    sentiment: list[str] | None = None
    urgency: list[str] | None = None
    topic: list[str] | None = None
    language: list[str] | None = None
    min_topic_score: float | None = Field(default=None, ge=0, le=1)
    max_topic_score: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _check(self) -> RuleCondition:
        for c in self.channel or []:
            if c not in CHANNELS:
                raise ValueError(f"unknown channel {c!r}; expected one of {', '.join(CHANNELS)}")
        for u in self.urgency or []:
            if u not in _URGENCIES:
                raise ValueError(f"unknown urgency {u!r}; expected one of {', '.join(_URGENCIES)}")
        if all(v is None for v in self.model_dump().values()):
            # An empty condition matches everything and would hide every later rule.
            raise ValueError("a rule needs at least one condition under 'when:'; found none")
        lo, hi = self.min_topic_score, self.max_topic_score
        if lo is not None and hi is not None and lo >= hi:
            raise ValueError(f"min_topic_score {lo} must be below max_topic_score {hi}; no score could match")
        return self

    def matches(self, *, channel: str, c: Classification) -> bool:
        checks = [
            self.channel is None or channel in self.channel,
            self.sentiment is None or c.sentiment.label in self.sentiment,
            self.urgency is None or c.urgency in self.urgency,
            self.topic is None or c.topic.label in self.topic,
            self.language is None or c.language in self.language,
            self.min_topic_score is None or c.topic.score >= self.min_topic_score,
            self.max_topic_score is None or c.topic.score < self.max_topic_score,
        ]
        return all(checks)


class Rule(_Model):
    """An ordered override: when ``when`` holds, send to ``department``."""

    name: str = Field(min_length=1)
    when: RuleCondition
    department: str


class RoutingConfig(_Model):
    """A validated routing file: departments, topic map, ordered rules, default."""

    departments: list[Department] = Field(min_length=1)
    topics: dict[str, str] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    default_department: str

    def reference_errors(self) -> list[tuple[tuple[Any, ...], str]]:
        """(location, message) for every name that points nowhere."""
        names = {d.name for d in self.departments}
        errors: list[tuple[tuple[Any, ...], str]] = []
        seen_names: set[str] = set()
        seen_index: set[str] = set()
        for i, d in enumerate(self.departments):
            if d.name in seen_names:
                errors.append((("departments", i, "name"), f"department name {d.name!r} is used twice"))
            if d.index in seen_index:
                errors.append((("departments", i, "index"), f"index suffix {d.index!r} is used twice"))
            seen_names.add(d.name)
            seen_index.add(d.index)
        for topic, dept in self.topics.items():
            if dept not in names:
                errors.append((("topics", topic), f"topic {topic!r} maps to unknown department {dept!r}"))
        for i, rule in enumerate(self.rules):
            if rule.department not in names:
                errors.append((("rules", i, "department"),
                               f"rule {rule.name!r} sends to unknown department {rule.department!r}"))
        if self.default_department not in names:
            errors.append((("default_department",), f"default_department {self.default_department!r} is not a department"))
        return errors

    def department(self, name: str) -> Department:
        return next(d for d in self.departments if d.name == name)


class RoutingDecision(_Model):
    """Where one item goes and why."""

    department: str
    rule: str = Field(description="'rule:<name>', 'topic:<label>' or 'default'")


def route(*, channel: str, classification: Classification, rules: RoutingConfig) -> RoutingDecision:
    """The department for one classified item, with the rule that chose it.

    >>> from feedback.schema import Label
    >>> c = Classification(language="en", sentiment=Label(label="negative", score=0.9),
    ...                    topic=Label(label="billing_payment", score=0.8), urgency="normal", model_version="t")
    >>> route(channel="email", classification=c, rules=load_routing(None))
    RoutingDecision(department='billing', rule='topic:billing_payment')
    """
    for rule in rules.rules:
        if rule.when.matches(channel=channel, c=classification):
            return RoutingDecision(department=rule.department, rule=f"rule:{rule.name}")
    dept = rules.topics.get(classification.topic.label)
    if dept is not None:
        return RoutingDecision(department=dept, rule=f"topic:{classification.topic.label}")
    return RoutingDecision(department=rules.default_department, rule="default")


def _line_of(node: yaml.Node, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (pydantic's error location)."""
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            match = node.value[key]
        else:
            match = None
        if match is None:
            break
        node = match
    return int(node.start_mark.line) + 1


def load_routing(path: Path | None) -> RoutingConfig:
    """Read and validate a routing file (``None``: the shipped default).

    Errors are :class:`ConfigError` naming the file, the line and the entry.

    >>> [d.name for d in load_routing(None).departments][:3]
    ['support', 'billing', 'logistics']
    """
    if path is None:
        text = resources.files("feedback").joinpath("config/routing.yaml").read_text(encoding="utf-8")
        where = "feedback/config/routing.yaml (shipped)"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read routing file {path}: {e.strerror}; fix FEEDBACK_STREAM_ROUTING") from e
        where = str(path)
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"routing file {where} is not valid YAML: {e}".replace("\n", " ")) from e
    if node is None or not isinstance(data, dict):
        raise ConfigError(f"routing file {where} is empty or not a mapping; expected departments, topics, rules")
    try:
        config = RoutingConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        raise _located(where, node, tuple(err["loc"]), err["msg"].removeprefix("Value error, ")) from e
    problems = config.reference_errors()
    if problems:
        loc, msg = problems[0]
        raise _located(where, node, loc, msg)
    return config


def _located(where: str, node: yaml.Node, loc: tuple[Any, ...], msg: str) -> ConfigError:
    entry = ".".join(str(p) for p in loc) or "top level"
    return ConfigError(f"routing file {where}, line {_line_of(node, loc)}, entry {entry}: {msg}")
