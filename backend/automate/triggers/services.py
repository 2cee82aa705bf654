"""Writes for webhook triggers: the endpoint a workflow owns, its signing secret, the
bounded delivery log, and a signed test delivery for trying the endpoint out.

A workflow's webhook trigger (``trigger_spec["webhook"]``, see ``webhook_spec``) owns one
``WebhookEndpoint``: saving the trigger in the studio or publishing creates it or brings
it up to date, so ``/hooks/<slug>/`` verifies with the trigger's scheme and secret at
once; runs start once a published version's trigger matches the recorded events.
"""

from __future__ import annotations

import json
import secrets
import shlex
import uuid
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from automate.connectors.triggers import GENERIC_SCHEME, find_trigger
from automate.exceptions import AutomateError, ConflictError
from automate.governance import audit
from automate.tenants.models import Tenant
from automate.triggers.models import MAX_DELIVERIES_KEPT, WebhookDelivery, WebhookEndpoint
from automate.triggers.signatures import GENERIC_DELIVERY_ID_HEADER, generic_signature_header
from automate.typing import UserType
from automate.workflows.models import Workflow

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix the redaction recognises, not a value)


class WebhookSlugTakenError(ConflictError):
    """Another endpoint (another workflow's, or one made in code) already has this slug."""

    code = "webhook_slug_taken"

    def __init__(self, slug: str) -> None:
        super().__init__(
            gettext(
                "The webhook URL /hooks/%(slug)s/ is already used by another endpoint; "
                "pick another slug."
            )
            % {"slug": slug},
            details={"field": "slug", "slug": slug},
        )


class SecretsNotStorableError(AutomateError):
    """The active secrets backend cannot store a new secret (only ``db`` can)."""

    code = "secrets_backend_read_only"
    http_status = 409


class NoEndpointError(ConflictError):
    """The workflow's webhook trigger has not been saved yet, so it has no endpoint."""

    code = "webhook_not_saved"


def slug_taken(*, workflow: Workflow, slug: str) -> bool:
    """Whether ``slug`` belongs to an endpoint that is not this workflow's."""
    return WebhookEndpoint.objects.filter(slug=slug).exclude(workflow_id=workflow.pk).exists()


def sync_webhook_endpoint(
    *, workflow: Workflow, webhook: dict[str, Any], actor: UserType | None = None
) -> WebhookEndpoint:
    """Create or update the endpoint of ``workflow``'s (valid) webhook trigger.

    Raises ``WebhookSlugTakenError`` (409) when the slug is another endpoint's; call it
    inside the transaction that saves the trigger, so a refusal saves nothing.
    """
    slug = webhook["slug"]
    with transaction.atomic():
        if slug_taken(workflow=workflow, slug=slug):
            raise WebhookSlugTakenError(slug)
        endpoint = WebhookEndpoint.objects.select_for_update().filter(workflow=workflow).first()
        created = endpoint is None
        if endpoint is None:
            endpoint = WebhookEndpoint(workflow=workflow, tenant=workflow.tenant)
        wanted = {
            "slug": slug,
            "name": workflow.name[:200],
            "scheme": webhook["scheme"],
            "secret_name": webhook["secret_name"],
            "is_active": True,
        }
        changed = [key for key, value in wanted.items() if getattr(endpoint, key) != value]
        if not created and not changed:
            return endpoint
        for key in changed:
            setattr(endpoint, key, wanted[key])
        endpoint.save()
        audit.record(
            action="webhook.endpoint.create" if created else "webhook.endpoint.update",
            resource_type="webhook_endpoint",
            resource_id=endpoint.pk,
            actor=actor,
            tenant=workflow.tenant,
            details={"workflow": workflow.slug, "slug": slug, "scheme": endpoint.scheme},
        )
    return endpoint


def _storable(tenant: Tenant) -> None:
    from automate.governance.secret_store import DatabaseSecretsBackend
    from automate.governance.secrets import get_backend

    if not isinstance(get_backend(), DatabaseSecretsBackend):
        raise SecretsNotStorableError(
            gettext(
                "The active secrets backend cannot store secrets: set "
                "DJANGO_AUTOMATE['SECRETS']['backend'] = 'db' (see the secrets how-to), or "
                "set the secret yourself in the backend you use."
            )
        )


def can_store_secrets() -> bool:
    """Whether the studio can create signing secrets (the ``db`` backend is active)."""
    from automate.governance.secret_store import DatabaseSecretsBackend
    from automate.governance.secrets import get_backend

    return isinstance(get_backend(), DatabaseSecretsBackend)


def new_signing_secret(
    *, endpoint: WebhookEndpoint, actor: UserType | None = None
) -> tuple[str, bool]:
    """Make a fresh signing secret for ``endpoint`` and store it as its tenant's secret.

    Returns ``(value, rotated)``: the value is for showing once and is never stored
    anywhere but the encrypted secret store. Audited as ``secret.create`` or
    ``secret.rotate`` with the name only.
    """
    from automate.governance.models import StoredSecret
    from automate.governance.secret_store import create_secret, rotate_secret

    _storable(endpoint.tenant)
    value = SECRET_PREFIX + secrets.token_hex(32)
    name = endpoint.secret_name
    exists = StoredSecret.objects.filter(tenant=endpoint.tenant, name=name).exists()
    if exists:
        rotate_secret(name, value, tenant=endpoint.tenant, actor=actor)
    else:
        create_secret(
            name,
            value,
            tenant=endpoint.tenant,
            actor=actor,
            description=f"Signing secret of /hooks/{endpoint.slug}/",
        )
    return value, exists


def signing_secret(endpoint: WebhookEndpoint) -> str | None:
    """The endpoint's signing secret, resolved for its tenant (``None`` when missing)."""
    from automate.secrets import resolve

    try:
        return resolve({"$secret": endpoint.secret_name}, tenant=endpoint.tenant) or None
    except AutomateError:
        return None


def test_delivery(endpoint: WebhookEndpoint, secret: str) -> tuple[dict[str, str], bytes]:
    """Headers and body of a correctly signed test delivery for ``endpoint``'s scheme.

    Each call makes a new delivery (its own id), valid for the signature tolerance
    (300 s) for timestamped schemes. A connector trigger's scheme asks its connector
    (``webhook_test_delivery``), which raises ``NotImplementedError`` when it offers none.
    """
    if endpoint.scheme != GENERIC_SCHEME:
        trigger = find_trigger(endpoint.scheme)
        if trigger is None:
            raise NotImplementedError(f"no registered connector has the scheme {endpoint.scheme!r}")
        return trigger.adapter.webhook_test_delivery(trigger.spec.name, secret)
    nonce = uuid.uuid4().hex
    headers = {"Content-Type": "application/json"}
    body = _compact({"test": True, "sent_from": "studio", "test_id": nonce})
    delivery_id = f"studio-test-{nonce}"
    headers[endpoint.delivery_id_header or GENERIC_DELIVERY_ID_HEADER] = delivery_id
    headers[endpoint.signature_header] = generic_signature_header(secret, body, delivery_id)
    return headers, body


def curl_command(url: str, headers: dict[str, str], body: bytes) -> str:
    """A shell command sending ``body`` with ``headers`` to ``url``, every part quoted."""
    parts = ["curl", "-sS", "-X", "POST", shlex.quote(url)]
    for name, value in headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    parts += ["--data-binary", shlex.quote(body.decode())]
    return " ".join(parts)


def _compact(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def record_delivery(
    *, endpoint: WebhookEndpoint, status_code: int, result: str, event_id: Any = None
) -> None:
    """Log one delivery's outcome (no body, no headers) and keep only the latest ones."""
    WebhookDelivery.objects.create(
        endpoint=endpoint, status_code=status_code, result=result[:64], event_id=event_id
    )
    stale = list(
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .order_by("-id")
        .values_list("id", flat=True)[MAX_DELIVERIES_KEPT : MAX_DELIVERIES_KEPT + 100]
    )
    if stale:
        WebhookDelivery.objects.filter(id__in=stale).delete()


def webhook_publish_problems(workflow: Workflow) -> list[dict[str, str]]:
    """A draft's webhook trigger whose slug another endpoint holds cannot be published."""
    spec = workflow.draft_trigger_spec
    webhook = spec.get("webhook") if isinstance(spec, dict) else None
    slug = webhook.get("slug") if isinstance(webhook, dict) else None
    if isinstance(slug, str) and slug_taken(workflow=workflow, slug=slug):
        return [
            {
                "field": "trigger_spec.webhook.slug",
                "message": str(WebhookSlugTakenError(slug).message),
            }
        ]
    return []
