"""What happens when a run fails: its workflow's error workflow and failure notifications.

``automate.failures.hook.run_failed`` is called where a run is marked failed
(``automate.execution.run_state.fail_run``), inside the transaction holding the run row:
it writes one ``RunFailure`` per failed run (a unique constraint) and, in the same
transaction, the ``automate.run.failed`` event and the error workflow's run (a transactional
outbox: a crash before commit writes neither, after commit both stand). Notifications are
sent after commit and by the workers' periodic duty (``automate.failures.notify``).
See docs/howto/error-handling.md.
"""
