"""Retention: what ``automate_prune`` (and the worker's opt-in periodic prune) deletes.

* ``plan``: which rows are past retention (global ``RETENTION`` settings, a workflow's own
  ``retention_days``), and which are kept whatever their age (runs in flight, runs with a
  job still to do or a dead letter still to replay, events such runs refer to).
* ``batches``: deleting them oldest first, in short transactions of a bounded size.
* ``periodic``: the worker duty that runs one bounded pass every
  ``RETENTION["prune_interval_seconds"]``, one worker at a time.
* ``services``: changing a workflow's retention, audited.
"""
