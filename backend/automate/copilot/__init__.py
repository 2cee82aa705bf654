"""The copilot: from a sentence (or an edit request) to a proposed, checked workflow draft.

.. code-block:: python

    from automate.copilot import propose, record_decision

    proposal = propose(tenant=tenant, user=user, prompt="When an invoice is paid, post to #billing")
    proposal.definition   # {"trigger_spec", "rule_spec", "graph"}: passes the publish checks
    record_decision(proposal_id=proposal.id, accepted=True, tenant=tenant, user=user)

It never publishes, never sees or writes secret values, and never changes a workflow: the
caller applies a proposal when the user accepts it. See docs/reference/copilot.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["propose", "record_decision"]


def __getattr__(name: str) -> Any:
    # Lazy: the service imports models, and this package is imported while apps load.
    if name in __all__:
        from automate.copilot import service

        return getattr(service, name)
    raise AttributeError(name)
