"""The LLM spend ledger: reservations, recorded usage, and no overspending under races."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings

from automate.governance import budget
from automate.governance.budget import BudgetExceededError
from automate.governance.models import LLMBudgetDay, LLMUsage
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db


def budget_of(usd):
    return override_settings(DJANGO_AUTOMATE={"POLICY": {"llm_budget_daily": usd}})


@pytest.fixture
def tenant():
    return make_tenant("acme")


@budget_of(1)
def test_a_reservation_counts_until_the_actual_cost_replaces_it(tenant):
    reservation = budget.reserve("acme", Decimal("0.25"))
    assert budget.spent_today("acme") == Decimal("0.25")

    usage = budget.record(
        reservation,
        model="gpt-4o-mini",
        prompt_tokens=1000,
        completion_tokens=500,
        cost_usd=Decimal("0.00045"),
        run_id="run-1",
        node_id="summarise",
        trace_id="a" * 32,
    )

    assert budget.spent_today("acme") == Decimal("0.00045")
    day = LLMBudgetDay.objects.get(tenant=tenant)
    assert (day.day, day.calls) == (dt.datetime.now(dt.timezone.utc).date(), 1)
    assert LLMUsage.objects.get() == usage
    assert (usage.model, usage.prompt_tokens, usage.completion_tokens) == ("gpt-4o-mini", 1000, 500)
    assert (usage.run_id, usage.node_id, usage.cost_usd) == (
        "run-1",
        "summarise",
        Decimal("0.00045"),
    )


@budget_of(1)
def test_release_gives_the_estimate_back(tenant):
    reservation = budget.reserve("acme", Decimal("0.6"))
    with pytest.raises(BudgetExceededError):
        budget.reserve("acme", Decimal("0.6"))
    budget.release(reservation)
    assert budget.spent_today("acme") == 0
    budget.reserve("acme", Decimal("0.6"))
    assert LLMUsage.objects.count() == 0


@budget_of(1)
def test_a_reservation_is_settled_once(tenant):
    reservation = budget.reserve("acme", Decimal("0.1"))
    budget.release(reservation)
    with pytest.raises(ValueError):
        budget.record(reservation, model="m", prompt_tokens=1, completion_tokens=1, cost_usd=1)
    assert budget.spent_today("acme") == 0


@budget_of(1)
def test_a_call_that_would_pass_the_budget_is_refused_with_the_numbers(tenant):
    budget.reserve("acme", Decimal("0.7"))
    budget.reserve("acme", Decimal("0.3"))  # exactly the budget is fine
    with pytest.raises(BudgetExceededError) as caught:
        budget.reserve("acme", Decimal("0.000001"))
    error = caught.value
    assert (error.code, error.retryable) == ("budget_exceeded", False)
    assert error.details["budget_usd"] == "1"
    assert Decimal(error.details["spent_usd"]) == 1
    assert budget.spent_today("acme") == 1


@budget_of(0)
def test_a_budget_of_zero_refuses_every_call(tenant):
    with pytest.raises(BudgetExceededError):
        budget.reserve("acme", Decimal(0))
    assert budget.spent_today("acme") == 0


@budget_of(1)
def test_budgets_are_per_tenant_and_per_utc_day(tenant, monkeypatch):
    make_tenant("globex")
    budget.reserve("acme", Decimal(1))
    budget.reserve("globex", Decimal(1))

    monkeypatch.setattr(budget, "today", lambda: dt.date(2031, 1, 2))
    reservation = budget.reserve("acme", Decimal("0.5"))
    assert budget.spent_today("acme") == Decimal("0.5")

    # Usage is booked on the day it was reserved, even after UTC midnight.
    monkeypatch.setattr(budget, "today", lambda: dt.date(2031, 1, 3))
    budget.record(
        reservation, model="m", prompt_tokens=1, completion_tokens=1, cost_usd=Decimal("0.2")
    )
    assert LLMUsage.objects.get().day == dt.date(2031, 1, 2)
    assert LLMBudgetDay.objects.get(tenant=tenant, day=dt.date(2031, 1, 2)).spent_usd == Decimal(
        "0.2"
    )
    assert budget.spent_today("acme") == 0


def test_the_default_tenant_is_used_when_the_context_names_none():
    budget.reserve("", Decimal("0.1"))
    assert budget.spent_today("default") == Decimal("0.1")


@pytest.mark.django_db(transaction=True)
@budget_of(1)
def test_concurrent_reservations_never_overspend():
    make_tenant("race")
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    outcomes = []
    lock = threading.Lock()

    def reserve_once():
        try:
            barrier.wait(timeout=10)
            try:
                budget.reserve("race", Decimal("0.3"))
                outcome = "reserved"
            except BudgetExceededError:
                outcome = "refused"
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=reserve_once) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["refused"] * 5 + ["reserved"] * 3
    assert budget.spent_today("race") == Decimal("0.9")
    assert LLMBudgetDay.objects.count() == 1
