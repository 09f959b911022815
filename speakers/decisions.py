"""How a talk's speaker was decided: the words the ledger, the events and the UI share."""

from __future__ import annotations

from enum import StrEnum


class SpeakerDecision(StrEnum):
    MATCH = "match"      # one enrolled person, clearly
    REVIEW = "review"    # someone is close but not clearly: a person should decide
    UNKNOWN = "unknown"  # nobody enrolled is close
    OFF = "off"          # identification is turned off in the config
    MANUAL = "manual"    # a person relabelled the talk
