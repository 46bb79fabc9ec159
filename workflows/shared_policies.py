"""One Policy object per distinct set of terms, shared by the complaints the worker holds.

A complaint carries its policy in its workflow input (it keeps the terms it was registered under
for life), and the SDK keeps that input, decoded, for as long as the workflow is in the worker's
cache. Decoded once per complaint, the policy (calendars, teams, rules: about 23 KiB with the
default one) was the largest part of what a cached complaint cost the worker's heap
(bench/workflow_memory.py). Complaints under the same terms decode equal policies, so they hold
one object instead.

Sharing is safe: a Policy is frozen and nothing changes one in place (every variant is a
model_copy), so no complaint's decisions can touch another's; and the shared policy equals,
field for field, the one it replaces, so every decision and every replay is the same.
"""

from __future__ import annotations

import threading
import weakref

from domain.policy import Policy

# Keyed by the policy's JSON: equal terms, equal key. Weak: terms no complaint holds any more
# (a contract's old version, once its complaints are archived or evicted) are let go.
_policies: weakref.WeakValueDictionary[str, Policy] = weakref.WeakValueDictionary()
# Inputs are decoded on the worker's workflow task threads.
_lock = threading.Lock()


def shared(policy: Policy) -> Policy:
    """The policy object that stands for `policy`'s terms (`policy` itself if it is the first)."""
    key = policy.model_dump_json()
    with _lock:
        return _policies.setdefault(key, policy)
