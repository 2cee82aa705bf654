"""Workflows and their immutable published versions."""

from automate.workflows.exceptions import NotPublishedError, WorkflowValidationError

__all__ = ["NotPublishedError", "WorkflowValidationError"]
