"""LLM prices: built-in table, settings overrides, version suffixes, unknown models."""

from decimal import Decimal

import pytest
from django.test import override_settings

from automate.governance.budget import (
    DEFAULT_UNKNOWN_PRICE,
    LLMPriceConfigurationError,
    Price,
    cost_of,
    price_for,
)


def llm_options(**options):
    return override_settings(DJANGO_AUTOMATE={"CONNECTOR_OPTIONS": {"llm": options}})


def test_known_models_have_built_in_prices():
    assert price_for("gpt-4o-mini") == Price(Decimal("0.00015"), Decimal("0.0006"))
    input_price, output_price = price_for("gpt-3.5-turbo")
    assert (input_price, output_price) == (Decimal("0.0005"), Decimal("0.0015"))


@pytest.mark.parametrize(
    ("model", "priced_as"),
    [
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4-0613", "gpt-4"),
    ],
)
def test_dated_versions_are_priced_as_their_family(model, priced_as):
    assert price_for(model) == price_for(priced_as)


def test_a_prefix_without_a_separator_is_not_a_match():
    with llm_options(prices={"llama3": {"input_per_1k": 0, "output_per_1k": 0}}):
        assert price_for("llama3:8b") == Price(Decimal(0), Decimal(0))
        assert price_for("llama30") == DEFAULT_UNKNOWN_PRICE


def test_unknown_models_are_not_free():
    price = price_for("some-new-model")
    assert price == DEFAULT_UNKNOWN_PRICE
    assert price.input_per_1k > 0
    assert price.output_per_1k > 0
    assert cost_of("some-new-model", 1000, 1000) == Decimal("0.04")


def test_settings_override_and_extend_the_table():
    with llm_options(
        prices={
            "gpt-4o-mini": {"input_per_1k": 0.001, "output_per_1k": "0.002"},
            "local-model": {"input_per_1k": 0, "output_per_1k": 0},
        },
        default_price={"input_per_1k": 1, "output_per_1k": 2},
    ):
        assert price_for("gpt-4o-mini") == Price(Decimal("0.001"), Decimal("0.002"))
        assert cost_of("local-model", 10_000, 10_000) == 0
        assert price_for("mystery") == Price(Decimal(1), Decimal(2))


def test_costs_are_rounded_up_to_a_millionth_of_a_dollar():
    # 1 token of gpt-4o-mini input costs 0.00000015 USD.
    assert cost_of("gpt-4o-mini", 1, 0) == Decimal("0.000001")
    assert cost_of("gpt-4o-mini", 1000, 500) == Decimal("0.00045")
    assert cost_of("gpt-4o-mini", 0, 0) == 0


@pytest.mark.parametrize(
    "options",
    [
        {"prices": ["gpt-4o"]},
        {"prices": {"m": {"input_per_1k": 1}}},
        {"prices": {"m": {"input_per_1k": -1, "output_per_1k": 1}}},
        {"prices": {"m": {"input_per_1k": "cheap", "output_per_1k": 1}}},
        {"prices": {"m": {"input_per_1k": True, "output_per_1k": 1}}},
        {"default_price": 0.01},
    ],
)
def test_malformed_price_settings_say_which_key(options):
    with llm_options(**options), pytest.raises(LLMPriceConfigurationError) as caught:
        price_for("m")
    assert "CONNECTOR_OPTIONS" in caught.value.message
