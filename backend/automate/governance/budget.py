"""The LLM spend ledger: reserve an estimate before a call, record the real cost after.

Each tenant has one ``LLMBudgetDay`` row per UTC day. ``reserve`` locks that row
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serialises writers on its own), refuses
when today's spend plus the estimate would pass ``POLICY.llm_budget_daily`` and otherwise
adds the estimate to the spend. ``record`` swaps the estimate for the actual cost and
writes an ``LLMUsage`` row; ``release`` gives the estimate back when the call never
happened. Because the estimate is counted *before* the call, concurrent calls cannot all
pass the check and overspend: the day can end above the cap by at most the difference
between one call's estimate and its actual cost.

Prices come from ``DJANGO_AUTOMATE["CONNECTOR_OPTIONS"]["llm"]["prices"]`` over the
built-in ``DEFAULT_PRICES``; a model found in neither costs ``DEFAULT_UNKNOWN_PRICE``
(or ``CONNECTOR_OPTIONS["llm"]["default_price"]``), so an unknown model is never free.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F

from automate import conf
from automate.exceptions import AutomateError
from automate.governance.models import LLMBudgetDay, LLMUsage
from automate.tenants.models import Tenant
from automate.tenants.services import resolve_tenant

__all__ = [
    "DEFAULT_PRICES",
    "DEFAULT_UNKNOWN_PRICE",
    "BudgetExceededError",
    "LLMPriceConfigurationError",
    "Price",
    "Reservation",
    "cost_of",
    "daily_budget",
    "price_for",
    "record",
    "release",
    "reserve",
    "spent_today",
    "today",
]

# The ledger stores six decimal places (``LLMBudgetDay.spent_usd``, ``LLMUsage.cost_usd``).
_MICRODOLLAR = Decimal("0.000001")
_THOUSAND = Decimal(1000)


class Price(NamedTuple):
    """USD per 1,000 tokens, for the prompt (input) and for the completion (output)."""

    input_per_1k: Decimal
    output_per_1k: Decimal


def _price(input_per_1k: str, output_per_1k: str) -> Price:
    return Price(Decimal(input_per_1k), Decimal(output_per_1k))


DEFAULT_PRICES: dict[str, Price] = {
    # OpenAI list prices (USD per 1K tokens) when this table was written; set
    # CONNECTOR_OPTIONS["llm"]["prices"] to what your provider charges you.
    "gpt-4.1": _price("0.002", "0.008"),
    "gpt-4.1-mini": _price("0.0004", "0.0016"),
    "gpt-4.1-nano": _price("0.0001", "0.0004"),
    "gpt-4o": _price("0.0025", "0.01"),
    "gpt-4o-mini": _price("0.00015", "0.0006"),
    "gpt-4-turbo": _price("0.01", "0.03"),
    "gpt-4": _price("0.03", "0.06"),
    "gpt-3.5-turbo": _price("0.0005", "0.0015"),
    "o1": _price("0.015", "0.06"),
    "o1-mini": _price("0.0011", "0.0044"),
    "o3-mini": _price("0.0011", "0.0044"),
}
"""Built-in prices by model name; settings override and extend them."""

DEFAULT_UNKNOWN_PRICE = _price("0.01", "0.03")
"""What a model missing from every price table costs: deliberately not cheap."""

# "gpt-4o-2024-08-06" is priced as "gpt-4o" and "llama3:8b" as "llama3", but "gpt-4o"
# is never priced as "gpt-4": a prefix only counts when a separator follows it.
_VERSION_SEPARATORS = ("-", ":", "@")


class BudgetExceededError(AutomateError):
    """An LLM call would take the tenant past today's ``POLICY.llm_budget_daily``.

    Not retryable: retrying today fails the same way. ``details`` holds the tenant, the
    budget, today's spend and the estimate (all as decimal strings in USD).
    """

    code = "budget_exceeded"
    http_status = 429
    retryable = False


class LLMPriceConfigurationError(AutomateError, ImproperlyConfigured):
    """``CONNECTOR_OPTIONS["llm"]["prices"]`` (or ``default_price``) is malformed."""

    code = "llm_misconfigured"
    http_status = 500


@dataclass
class Reservation:
    """An estimate counted against a tenant's day, waiting for ``record`` or ``release``.

    Settle each reservation once: ``record`` after the call, ``release`` if the call did
    not happen. Settling twice raises ``ValueError``.
    """

    tenant: str
    tenant_id: int
    day: dt.date
    estimated_usd: Decimal
    settled: bool = field(default=False, compare=False)


# ---------------------------------------------------------------------------------------
# Prices
# ---------------------------------------------------------------------------------------


def _llm_options() -> Mapping[str, Any]:
    llm = conf.get("CONNECTOR_OPTIONS").get("llm", {})
    return llm if isinstance(llm, Mapping) else {}


def _decimal(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise LLMPriceConfigurationError(f"{where} must be a number, not {value!r}.")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise LLMPriceConfigurationError(f"{where} must be a number, not {value!r}.") from None
    if not number.is_finite() or number < 0:
        raise LLMPriceConfigurationError(f"{where} must be a number ≥ 0, not {value!r}.")
    return number


def _parse_price(value: object, where: str) -> Price:
    if not isinstance(value, Mapping) or set(value) != {"input_per_1k", "output_per_1k"}:
        raise LLMPriceConfigurationError(
            f'{where} must be {{"input_per_1k": <USD>, "output_per_1k": <USD>}}, not {value!r}.'
        )
    return Price(
        _decimal(value["input_per_1k"], f"{where}['input_per_1k']"),
        _decimal(value["output_per_1k"], f"{where}['output_per_1k']"),
    )


def _price_table() -> tuple[dict[str, Price], Price]:
    setting = "DJANGO_AUTOMATE['CONNECTOR_OPTIONS']['llm']"
    options = _llm_options()
    table = dict(DEFAULT_PRICES)
    configured = options.get("prices", {})
    if not isinstance(configured, Mapping):
        raise LLMPriceConfigurationError(
            f"{setting}['prices'] must be a dict of model name to price, not {configured!r}."
        )
    for model, value in configured.items():
        table[str(model)] = _parse_price(value, f"{setting}['prices'][{model!r}]")
    fallback = DEFAULT_UNKNOWN_PRICE
    if "default_price" in options:
        fallback = _parse_price(options["default_price"], f"{setting}['default_price']")
    return table, fallback


def price_for(model: str) -> Price:
    """The price of ``model`` in USD per 1K tokens: ``(input_per_1k, output_per_1k)``.

    Looks in ``CONNECTOR_OPTIONS["llm"]["prices"]`` over ``DEFAULT_PRICES``: the exact
    name first, then the longest name that ``model`` extends with a version suffix
    (``gpt-4o-mini-2024-07-18`` → ``gpt-4o-mini``), then the default price for unknown
    models. Raises ``LLMPriceConfigurationError`` when the setting is malformed.
    """
    table, fallback = _price_table()
    if model in table:
        return table[model]
    candidates = [
        name
        for name in table
        if model.startswith(name) and model[len(name) : len(name) + 1] in _VERSION_SEPARATORS
    ]
    return table[max(candidates, key=len)] if candidates else fallback


def cost_of(model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
    """What ``prompt_tokens`` in and ``completion_tokens`` out of ``model`` cost, in USD.

    Rounded *up* to the ledger's six decimal places, so no call is recorded as free
    unless its price is zero.
    """
    price = price_for(model)
    cost = (
        Decimal(max(0, prompt_tokens)) * price.input_per_1k
        + Decimal(max(0, completion_tokens)) * price.output_per_1k
    ) / _THOUSAND
    return cost.quantize(_MICRODOLLAR, rounding=ROUND_CEILING)


# ---------------------------------------------------------------------------------------
# The ledger
# ---------------------------------------------------------------------------------------


def today() -> dt.date:
    """Today's date in UTC: the budget day."""
    return dt.datetime.now(dt.timezone.utc).date()


def daily_budget() -> Decimal:
    """``POLICY.llm_budget_daily`` as a ``Decimal`` (USD per tenant per UTC day)."""
    return Decimal(str(conf.get("POLICY", "llm_budget_daily")))


def spent_today(tenant: str) -> Decimal:
    """What the tenant (by slug) has spent or reserved today (UTC); ``0`` if nothing."""
    spent = (
        LLMBudgetDay.objects.filter(tenant__slug=tenant, day=today())
        .values_list("spent_usd", flat=True)
        .first()
    )
    return Decimal(spent) if spent is not None else Decimal(0)


def _locked_day(tenant: Tenant, day: dt.date) -> LLMBudgetDay:
    # get_or_create inserts inside a savepoint and, when a concurrent transaction
    # inserted the same (tenant, day) first, catches the IntegrityError and fetches that
    # row instead; select_for_update makes every fetch take the row lock. The outer loop
    # covers the rare case where even that fetch finds nothing (a deleted row).
    for _ in range(3):
        try:
            row, _created = LLMBudgetDay.objects.select_for_update().get_or_create(
                tenant=tenant, day=day
            )
            return row
        except LLMBudgetDay.DoesNotExist:
            continue
    raise LLMBudgetDay.DoesNotExist(f"No budget row could be created for {tenant.slug} {day}.")


def reserve(tenant: str, estimated_usd: Decimal) -> Reservation:
    """Count ``estimated_usd`` against the tenant's budget for today, or refuse.

    ``tenant`` is a tenant slug (``""`` means the default tenant). Raises
    ``BudgetExceededError`` (code ``budget_exceeded``, not retryable) when today's
    spend plus the estimate would exceed ``POLICY.llm_budget_daily``; a budget of 0
    refuses every call. Otherwise returns a ``Reservation`` to settle with ``record``
    or ``release``.
    """
    estimate = max(Decimal(0), Decimal(estimated_usd)).quantize(
        _MICRODOLLAR, rounding=ROUND_CEILING
    )
    budget = daily_budget()
    tenant_obj = resolve_tenant(tenant or None)
    day = today()
    with transaction.atomic():
        row = _locked_day(tenant_obj, day)
        if budget <= 0 or row.spent_usd + estimate > budget:
            raise BudgetExceededError(
                "LLM calls are switched off: POLICY.llm_budget_daily is 0."
                if budget <= 0
                else f"The LLM budget of ${budget} for {day} (UTC) is used up for tenant "
                f"{tenant_obj.slug!r}: ${row.spent_usd} spent or reserved, this call "
                f"needs up to ${estimate}.",
                details={
                    "tenant": tenant_obj.slug,
                    "day": day.isoformat(),
                    "budget_usd": str(budget),
                    "spent_usd": str(row.spent_usd),
                    "estimated_usd": str(estimate),
                },
            )
        LLMBudgetDay.objects.filter(pk=row.pk).update(spent_usd=F("spent_usd") + estimate)
    return Reservation(
        tenant=tenant_obj.slug, tenant_id=tenant_obj.pk, day=day, estimated_usd=estimate
    )


def _settle(reservation: Reservation) -> None:
    if reservation.settled:
        raise ValueError("This LLM budget reservation has already been recorded or released.")
    reservation.settled = True


def record(
    reservation: Reservation,
    *,
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    cost_usd: Decimal,
    run_id: str = "",
    node_id: str = "",
    trace_id: str = "",
    provider: str = "openai",
) -> LLMUsage:
    """Replace the reservation's estimate by the call's actual ``cost_usd``; log the usage.

    In one transaction: the day's spend moves by ``cost_usd - estimate``, its call count
    goes up by one and an ``LLMUsage`` row is written (on the reservation's day, even if
    UTC midnight has passed since). Returns that row. If that write fails, the
    reservation still counts as settled and its estimate stays counted (spending less,
    never more).
    """
    _settle(reservation)
    cost = max(Decimal(0), Decimal(cost_usd)).quantize(_MICRODOLLAR, rounding=ROUND_CEILING)
    with transaction.atomic():
        row = _locked_day_by_id(reservation)
        LLMBudgetDay.objects.filter(pk=row.pk).update(
            spent_usd=F("spent_usd") + (cost - reservation.estimated_usd),
            calls=F("calls") + 1,
        )
        usage = LLMUsage.objects.create(
            tenant_id=reservation.tenant_id,
            day=reservation.day,
            provider=provider[:50],
            model=model[:100],
            prompt_tokens=max(0, prompt_tokens),
            completion_tokens=max(0, completion_tokens),
            cost_usd=cost,
            run_id=run_id[:64],
            node_id=node_id[:100],
            trace_id=trace_id[:32],
        )
        from automate.observability.metrics import LLM_SPEND

        # Counted once the ledger has it (Prometheus's counter never goes back).
        transaction.on_commit(
            lambda: LLM_SPEND.labels(usage.provider, usage.model).inc(float(cost))
        )
        return usage


def release(reservation: Reservation) -> None:
    """Give the reservation's estimate back: the call did not happen (or failed).

    A call that failed with a timeout may still have been billed by the provider; the
    ledger cannot know, and counts it as nothing.
    """
    _settle(reservation)
    with transaction.atomic():
        row = _locked_day_by_id(reservation)
        # Never below zero, even if someone reset the row by hand meanwhile.
        refund = min(reservation.estimated_usd, row.spent_usd)
        LLMBudgetDay.objects.filter(pk=row.pk).update(spent_usd=F("spent_usd") - refund)


def _locked_day_by_id(reservation: Reservation) -> LLMBudgetDay:
    tenant = Tenant(pk=reservation.tenant_id, slug=reservation.tenant)
    return _locked_day(tenant, reservation.day)
