from automate.exceptions import AutomateError, ConflictError


class WorkflowValidationError(AutomateError):
    """A workflow definition that cannot be saved or published; ``details["problems"]`` lists
    every problem found, each with the node id (or field) it concerns."""

    code = "invalid_workflow"
    http_status = 400

    def __init__(self, problems: list[dict[str, str]], message: str | None = None) -> None:
        self.problems = problems
        summary = "; ".join(
            f"{p.get('node_id') or p.get('field', '')}: {p['message']}".lstrip(": ")
            for p in problems
        )
        super().__init__(message or f"Invalid workflow: {summary}", details={"problems": problems})


class NotPublishedError(ConflictError):
    """The workflow has no live (published) version to run."""

    code = "workflow_not_published"


class WorkflowInactiveError(ConflictError):
    """The workflow is switched off or archived: it starts no new runs until switched on."""

    code = "workflow_inactive"
