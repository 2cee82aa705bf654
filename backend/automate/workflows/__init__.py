"""Workflows and their immutable published versions."""

from automate.workflows.exceptions import (
    NotPublishedError,
    WorkflowInactiveError,
    WorkflowValidationError,
)

__all__ = ["NotPublishedError", "WorkflowInactiveError", "WorkflowValidationError"]
