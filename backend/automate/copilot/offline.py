"""The offline drafter: turns common sentences into a draft without any model.

It is what the copilot uses when no model is configured (``COPILOT.base_url`` empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import deepcopy

from automate.copilot.catalog import Catalog
from automate.copilot.types import Answer, Definition, DrafterKind


class OfflineDrafter:
    """Deterministic: the same sentence and draft always give the same answer."""

    kind: DrafterKind = "offline"

    def draft(
        self,
        *,
        prompt: str,
        current: Definition,
        catalog: Catalog,
        conversation: Sequence[str] = (),
    ) -> Answer:
        """The current definition changed as far as ``prompt`` is understood."""
        return Answer(definition=deepcopy(current), not_understood=[prompt])
