"""Stream stage: the Faust pipeline (classify, route, redact, index, spike check, watchdog) and its pure pieces."""

from stream.liveness import EXIT_STALLED, PartitionState, ProgressTracker, Stall
from stream.pipeline import Parsed, classify_events, dead_letter, parse_classified, parse_event
from stream.redact import RedactionResult, iban_valid, iran_national_id_valid, luhn_valid, redact
from stream.routing import (
    Department,
    RoutingConfig,
    RoutingDecision,
    Rule,
    RuleCondition,
    load_routing,
    route,
)
from stream.trends import ShareSpike, ShareSpikeTest, ShareVerdict, binom_sf, share_spikes, window_start

__all__ = [
    "EXIT_STALLED",
    "PartitionState",
    "ProgressTracker",
    "Stall",
    "Department",
    "Parsed",
    "RedactionResult",
    "RoutingConfig",
    "RoutingDecision",
    "Rule",
    "RuleCondition",
    "ShareSpike",
    "ShareSpikeTest",
    "ShareVerdict",
    "binom_sf",
    "classify_events",
    "dead_letter",
    "iban_valid",
    "iran_national_id_valid",
    "load_routing",
    "luhn_valid",
    "parse_classified",
    "parse_event",
    "redact",
    "route",
    "share_spikes",
    "window_start",
]
