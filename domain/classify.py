"""Classification: category and tier from the channel, the text and the customer's urgent flag.

The rules are data (the policy's [[classification.rules]]); the first rule that matches wins and
its name is recorded, so a supervisor can always see why a complaint got its tier.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from domain.policy import Classification, ClassificationRule
from domain.vocabulary import Channel

DEFAULT_RULE = "default"


@dataclass(frozen=True)
class Verdict:
    category: str
    tier: int
    rule: str
    urgent_raised: bool


@lru_cache(maxsize=512)
def _pattern(word: str) -> re.Pattern[str]:
    # Latin words match whole words with their common endings ("burn" matches "burned", but
    # "fire" must not match "firefox"); Chinese has no spaces between words, so a CJK word
    # matches anywhere.
    escaped = re.escape(word.casefold())
    return re.compile(rf"\b{escaped}(?:s|es|d|ed|ing)?\b" if word.isascii() else escaped)


def _matches(rule: ClassificationRule, channel: Channel, text: str) -> bool:
    if rule.channels and channel not in rule.channels:
        return False
    return any(_pattern(word).search(text) for word in rule.any_words)


def classify(
    policy: Classification, channel: Channel, subject: str, description: str, urgent: bool
) -> Verdict:
    text = f"{subject}\n{description}".casefold()
    rule = next((r for r in policy.rules if _matches(r, channel, text)), None)
    category, tier, name = (
        (rule.category, rule.tier, rule.name)
        if rule
        else (policy.default_category, policy.default_tier, DEFAULT_RULE)
    )
    raised = min(3, tier + policy.urgent_raises_tier_by) if urgent else tier
    return Verdict(category=category, tier=raised, rule=name, urgent_raised=raised != tier)
