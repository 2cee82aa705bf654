"""Discovering providers (built-in, entry points, AUTOMATE_PROVIDERS) and the system checks
that name every registration or config that cannot be used."""

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from automate.providers import (
    OpenAIProvider,
    ProviderConfigError,
    ProviderContext,
    UnknownProviderError,
    build_provider,
    discover,
    get_provider_class,
)
from tests.support.providers import GatewayProvider, ShoutingOpenAIProvider

GATEWAY = "tests.support.providers.GatewayProvider"
PLUGIN = """
from tests.support.providers import GatewayProvider

class AcmeGateway(GatewayProvider):
    key = "acme"
    display_name = "Acme's gateway"
"""


def provider_errors():
    return [
        (message.id, message.msg)
        for message in run_checks()
        if message.id.startswith(("automate.E08", "automate.E063"))
    ]


def test_the_built_in_openai_provider_is_always_there_and_the_checks_pass():
    assert get_provider_class("openai") is OpenAIProvider
    assert provider_errors() == []


@override_settings(AUTOMATE_PROVIDERS=[GATEWAY, "tests.support.providers.ShoutingOpenAIProvider"])
def test_the_setting_registers_providers_by_dotted_path():
    found = discover()
    assert found.providers["gateway"] is GatewayProvider
    assert found.providers["shouting"] is ShoutingOpenAIProvider
    assert found.sources["gateway"] == f"{GATEWAY!r} in AUTOMATE_PROVIDERS"
    assert provider_errors() == []


def test_an_entry_point_registers_a_provider(installed_plugin):
    installed_plugin(PLUGIN, {"acme": "acme_gateway:AcmeGateway"})
    provider = get_provider_class("acme")
    assert (provider.__name__, provider.display_name) == ("AcmeGateway", "Acme's gateway")
    assert "django_automate.providers" in discover().sources["acme"]
    assert provider_errors() == []


def test_an_unknown_key_names_the_known_ones():
    with pytest.raises(UnknownProviderError) as caught:
        get_provider_class("gatewy")
    assert "'gatewy'" in caught.value.message
    assert caught.value.details["known"] == ["openai"]


@override_settings(AUTOMATE_PROVIDERS=["myapp.providers.Missing"])
def test_a_bad_dotted_path_is_a_check_error_naming_it():
    [(check_id, message)] = provider_errors()
    assert check_id == "automate.E080"
    assert "'myapp.providers.Missing' in AUTOMATE_PROVIDERS cannot be imported" in message


def test_an_entry_point_that_fails_to_load_is_a_check_error_naming_it(installed_plugin):
    installed_plugin("raise RuntimeError('broken plug-in')\n", {"acme": "acme_gateway:Acme"})
    [(check_id, message)] = provider_errors()
    assert check_id == "automate.E080"
    assert "The entry point acme = 'acme_gateway:Acme'" in message
    assert "broken plug-in" in message


@override_settings(AUTOMATE_PROVIDERS=["tests.support.providers.NotAProvider"])
def test_a_class_that_is_not_a_base_provider_is_a_check_error_naming_it():
    [(check_id, message)] = provider_errors()
    assert check_id == "automate.E081"
    assert "'tests.support.providers.NotAProvider' in AUTOMATE_PROVIDERS" in message
    assert "not a BaseProvider subclass" in message
    assert "nope" not in discover().providers


@override_settings(AUTOMATE_PROVIDERS=["tests.support.providers.SecondOpenAI"])
def test_a_duplicate_key_is_a_check_error_naming_both_and_the_first_is_kept():
    [(check_id, message)] = provider_errors()
    assert check_id == "automate.E082"
    assert "'tests.support.providers.SecondOpenAI' in AUTOMATE_PROVIDERS" in message
    assert "'openai'" in message
    assert "automate.providers.openai_compatible.OpenAIProvider" in message
    assert get_provider_class("openai") is OpenAIProvider


def test_a_duplicate_between_an_entry_point_and_the_setting(installed_plugin, settings):
    installed_plugin(PLUGIN, {"acme": "acme_gateway:AcmeGateway"})
    settings.AUTOMATE_PROVIDERS = ["acme_gateway.AcmeGateway"]
    [(check_id, message)] = provider_errors()
    assert check_id == "automate.E082"
    assert "'acme_gateway.AcmeGateway' in AUTOMATE_PROVIDERS" in message
    assert "The entry point acme" in message


@override_settings(AUTOMATE_PROVIDERS="tests.support.providers.GatewayProvider")
def test_a_setting_that_is_not_a_list_is_a_check_error():
    [(check_id, message)] = provider_errors()
    assert check_id == "automate.E084"
    assert "must be a list of dotted paths" in message


def options(**values):
    return override_settings(
        AUTOMATE_PROVIDERS=[GATEWAY], DJANGO_AUTOMATE={"PROVIDER_OPTIONS": values}
    )


def test_a_config_that_fails_its_schema_is_a_check_error_naming_the_provider():
    with options(gateway={"url": 5}, openai={"base_url": "ftp://nowhere", "colour": "red"}):
        errors = provider_errors()
    assert {check_id for check_id, _ in errors} == {"automate.E083"}
    messages = "\n".join(message for _, message in errors)
    assert "PROVIDER_OPTIONS']['gateway'] does not match the config schema of the provider" in (
        messages
    )
    assert "'token_secret' is a required property" in messages
    assert "url: 5 is not of type 'string'" in messages
    assert "['openai']" in messages
    assert "base_url: 'ftp://nowhere' does not match" in messages
    assert "'colour' was unexpected" in messages


def test_options_for_an_unregistered_key_are_a_check_error():
    with options(gatway={"url": "http://x"}):
        [(check_id, message)] = provider_errors()
    assert check_id == "automate.E085"
    assert "'gatway'" in message
    assert "known: gateway, openai" in message


def test_a_valid_config_passes_and_builds_the_provider():
    with options(gateway={"url": "http://127.0.0.1:9/v1", "token_secret": "GATEWAY_TOKEN"}):
        assert provider_errors() == []
        provider = build_provider("gateway", ctx=ProviderContext(tenant="acme"))
    assert isinstance(provider, GatewayProvider)
    assert provider.config == {"url": "http://127.0.0.1:9/v1", "token_secret": "GATEWAY_TOKEN"}
    assert provider.ctx.budget.tenant == "acme"


def test_building_with_a_bad_config_says_what_is_wrong():
    with options(gateway={"url": "http://x"}), pytest.raises(ProviderConfigError) as caught:
        build_provider("gateway", ctx=ProviderContext())
    assert caught.value.code == "provider_misconfigured"
    assert "'token_secret' is a required property" in caught.value.message


def test_overrides_only_fill_keys_the_schema_declares():
    with options(gateway={"url": "http://x", "token_secret": "T"}):
        gateway = build_provider(
            "gateway", ctx=ProviderContext(), overrides={"base_url": "http://other"}
        )
        openai = build_provider(
            "openai", ctx=ProviderContext(), overrides={"base_url": "http://other/v1"}
        )
    assert "base_url" not in gateway.config
    assert openai.base_url == "http://other/v1"


def test_an_unknown_copilot_provider_is_a_check_error():
    with override_settings(DJANGO_AUTOMATE={"COPILOT": {"provider": "gateway", "model": "m"}}):
        [(check_id, message)] = provider_errors()
    assert check_id == "automate.E063"
    assert "'gateway'" in message
    with override_settings(
        AUTOMATE_PROVIDERS=[GATEWAY],
        DJANGO_AUTOMATE={"COPILOT": {"provider": "gateway", "model": "m"}},
    ):
        assert provider_errors() == []
