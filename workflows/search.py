"""Search attributes, so `temporal workflow list --query` finds complaints by what matters."""

from temporalio.common import SearchAttributeKey, SearchAttributePair

STATUS = SearchAttributeKey.for_keyword("ComplaintStatus")
TIER = SearchAttributeKey.for_int("ComplaintTier")
CATEGORY = SearchAttributeKey.for_keyword("ComplaintCategory")
TEAM = SearchAttributeKey.for_keyword("ComplaintTeam")
BREACHED = SearchAttributeKey.for_bool("ComplaintBreached")
CONTRACT = SearchAttributeKey.for_keyword("ComplaintContract")

ALL = (STATUS, TIER, CATEGORY, TEAM, BREACHED, CONTRACT)


def search_attributes_for(state) -> list[SearchAttributePair]:
    """The values a complaint's state publishes (`state` is a domain ComplaintState)."""
    return [
        SearchAttributePair(STATUS, state.status.value),
        SearchAttributePair(TIER, state.tier),
        SearchAttributePair(CATEGORY, state.category),
        SearchAttributePair(TEAM, state.team),
        SearchAttributePair(BREACHED, state.breached),
        # Only complaints that name a contract publish it: one from before contracts replays
        # with the very upserts it made.
        *([SearchAttributePair(CONTRACT, state.contract)] if state.contract else []),
    ]
