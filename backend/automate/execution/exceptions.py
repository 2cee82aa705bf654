from automate.exceptions import AutomateError, ConflictError


class LeaseLostError(AutomateError):
    """The worker no longer holds the job's lease (it expired, or the reaper returned it):
    whatever it was about to write is rolled back."""

    code = "lease_lost"
    retryable = True


class StepTimeoutError(AutomateError):
    """A step ran past its ``timeout_seconds``."""

    code = "step_timeout"
    retryable = True


class RunStateError(ConflictError):
    """The run is not in a state that allows the action (retry a step that did not fail, …)."""

    code = "invalid_run_state"
