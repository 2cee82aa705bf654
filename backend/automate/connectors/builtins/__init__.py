"""Connectors that ship with Django Automate, registered by ``load_connectors()``.

Each built-in lives in its own module here and is listed below by dotted path, imported
only when ``load_connectors()`` runs (so a built-in that needs models is not imported
before the app registry is ready). Adding a built-in is a module plus one line here.
"""

from __future__ import annotations

__all__ = ["BUILTIN_CONNECTORS"]

BUILTIN_CONNECTORS: tuple[str, ...] = (
    "automate.connectors.builtins.log.LogConnector",
    "automate.connectors.builtins.transform.TransformConnector",
    "automate.connectors.builtins.http.HttpConnector",
    "automate.connectors.builtins.webhook.WebhookConnector",
    "automate.connectors.builtins.slack.SlackConnector",
    "automate.connectors.builtins.email.EmailConnector",
    "automate.connectors.builtins.django_model.DjangoModelConnector",
    "automate.connectors.builtins.llm.LLMConnector",
    "automate.connectors.builtins.stripe.StripeConnector",
    "automate.connectors.builtins.github.GitHubConnector",
)
