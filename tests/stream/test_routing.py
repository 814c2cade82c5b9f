"""Routing: the shipped default, rule order, and errors that name the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers import DEFAULT_TOPICS
from feedback.errors import ConfigError
from feedback.schema import Classification, Label
from stream.routing import RoutingConfig, load_routing, route


def classification(
    topic: str = "billing_payment", *, score: float = 0.8, sentiment: str = "neutral", urgency: str = "normal",
    language: str = "en",
) -> Classification:
    return Classification(
        language=language,
        sentiment=Label(label=sentiment, score=0.9),
        topic=Label(label=topic, score=score),
        urgency=urgency,  # type: ignore[arg-type]
        model_version="test",
    )


@pytest.fixture(scope="module")
def default() -> RoutingConfig:
    return load_routing(None)


def test_the_shipped_routing_covers_every_default_topic(default: RoutingConfig) -> None:
    names = {d.name for d in default.departments}
    assert set(DEFAULT_TOPICS) <= set(default.topics)
    assert set(default.topics.values()) <= names
    assert {"escalations", "triage"} <= names
    assert default.default_department in names


@pytest.mark.parametrize(
    ("topic", "department"),
    [("account", "support"), ("billing_payment", "billing"), ("delivery_shipping", "logistics"),
     ("app_bug", "engineering"), ("praise", "customer_success"), ("other", "triage")],
)
def test_topics_route_to_their_department(default: RoutingConfig, topic: str, department: str) -> None:
    decision = route(channel="email", classification=classification(topic), rules=default)
    assert (decision.department, decision.rule) == (department, f"topic:{topic}")


def test_negative_urgent_social_post_is_escalated_before_its_topic(default: RoutingConfig) -> None:
    c = classification("delivery_shipping", sentiment="negative", urgency="high")
    assert route(channel="social", classification=c, rules=default).model_dump() == {
        "department": "escalations", "rule": "rule:public-and-urgent"}
    # The same text by e-mail is not public: it goes by topic.
    assert route(channel="email", classification=c, rules=default).department == "logistics"


def test_low_confidence_topic_goes_to_triage_and_the_bound_is_exclusive(default: RoutingConfig) -> None:
    assert route(channel="chat", classification=classification(score=0.2), rules=default).rule == "rule:low-confidence-topic"
    assert route(channel="chat", classification=classification(score=0.5), rules=default).department == "billing"


def test_first_matching_rule_wins_then_topic_map_then_default(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(
        "departments:\n"
        "  - {name: a, index: a}\n"
        "  - {name: b, index: b}\n"
        "  - {name: c, index: c}\n"
        "topics: {billing_payment: b}\n"
        "rules:\n"
        "  - {name: fa-first, when: {language: [fa]}, department: a}\n"
        "  - {name: fa-negative, when: {language: [fa], sentiment: [negative]}, department: c}\n"
        "  - {name: confident-bug, when: {topic: [app_bug], min_topic_score: 0.9}, department: c}\n"
        "default_department: a\n",
        encoding="utf-8",
    )
    rules = load_routing(path)
    assert route(channel="chat", classification=classification(language="fa", sentiment="negative"), rules=rules).rule \
        == "rule:fa-first"
    assert route(channel="chat", classification=classification("app_bug", score=0.95), rules=rules).department == "c"
    assert route(channel="chat", classification=classification("app_bug", score=0.5), rules=rules).rule == "default"
    assert route(channel="chat", classification=classification(), rules=rules).rule == "topic:billing_payment"


GOOD = """\
departments:
  - name: billing
    index: billing
  - name: triage
    index: triage
topics:
  billing_payment: billing
rules:
  - name: unsure
    when:
      max_topic_score: 0.3
    department: triage
default_department: triage
"""


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("  billing_payment: billing", "  billing_payment: finance", 7, "unknown department 'finance'"),
        ("    department: triage", "    department: escalate", 12, "unknown department 'escalate'"),
        ("      max_topic_score: 0.3", "      max_topic_scor: 0.3", 11, "max_topic_scor"),
        ("      max_topic_score: 0.3", "      channel: [fax]", 11, "unknown channel 'fax'"),
        ("  - name: triage\n    index: triage", "  - name: Triage Team\n    index: triage", 4, "departments.1.name"),
        ("default_department: triage", "default_department: nobody", 13, "'nobody' is not a department"),
        ("  - name: triage\n    index: triage", "  - name: triage\n    index: billing", 5, "used twice"),
    ],
)
def test_a_bad_entry_is_reported_with_the_file_and_its_line(
    tmp_path: Path, old: str, new: str, line: int, words: str
) -> None:
    assert old in GOOD
    path = tmp_path / "routing.yaml"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_routing(path)
    message = str(info.value)
    assert str(path) in message
    assert f"line {line}," in message
    assert words in message


def test_the_good_sample_loads(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert [d.name for d in load_routing(path).departments] == ["billing", "triage"]


def test_a_rule_without_conditions_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(GOOD.replace("      max_topic_score: 0.3\n", "      {}\n"), encoding="utf-8")
    with pytest.raises(ConfigError, match="at least one condition"):
        load_routing(path)


def test_missing_unreadable_and_non_yaml_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read routing file .*FEEDBACK_STREAM_ROUTING"):
        load_routing(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("departments: [\n  - oops", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_routing(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="empty or not a mapping"):
        load_routing(empty)
