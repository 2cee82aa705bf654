"""Sandboxed Jinja2 templates for dynamic step inputs.

.. code-block:: python

    from automate.templates import render, render_inputs

    render("Order {{ event.payload.id }}", {"event": event})            # -> "Order 42"
    render_inputs({"amount": "{{ event.payload.amount }}"}, context)    # -> {"amount": 9.5}

Templates see ``event``, ``execution``, ``steps`` (whatever the caller passes), plus
``secrets`` (``{{ secrets.SLACK_TOKEN }}``) and ``env`` (allow-listed variables only). They
run in Jinja's immutable sandbox with ``StrictUndefined``, a time limit and an output-size
limit; every problem raises :class:`TemplateError`. A secret is opaque: it can only be
printed whole. :func:`check_template` and :func:`template_problems` check templates without
rendering them (draft save, publish, import). See ``docs/reference/templates.md``.

Importing this package does not import Django models.
"""

from .engine import render, render_inputs
from .exceptions import TemplateError
from .registry import register_filter, registered_filters, unregister_filter
from .validate import check_template, secret_names, template_problems

__all__ = [
    "TemplateError",
    "check_template",
    "register_filter",
    "registered_filters",
    "render",
    "render_inputs",
    "secret_names",
    "template_problems",
    "unregister_filter",
]
