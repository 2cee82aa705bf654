from importlib.metadata import EntryPoint

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from automate.connectors import (
    ActionSpec,
    ConnectorAdapter,
    ConnectorError,
    ConnectorRegistrationError,
    ExecutionContext,
    all_connectors,
    check_connector_allowed,
    check_connector_allowlist,
    connector_allowed,
    connector_exists,
    get_action,
    get_connector,
    load_connectors,
    register,
    register_connector,
    registry,
    run_action,
    unregister,
)
from automate.connectors.builtins import BUILTIN_CONNECTORS
from automate.connectors.builtins.log import LogConnector

from .adapters import ORDERS, LegacyERPAdapter, OtherERPAdapter

ADAPTERS = "tests.unit.connectors.adapters"


def fake_entry_points(*entries):
    def entry_points(*, group, name=None):
        return [e for e in entries if e.group == group and (name is None or e.name == name)]

    return entry_points


def connector_entry_point(name, value):
    return EntryPoint(name=name, value=value, group=registry.ENTRY_POINT_GROUP)


def policy(*patterns):
    return override_settings(DJANGO_AUTOMATE={"POLICY": {"connector_allowlist": list(patterns)}})


def make_adapter(code, action="go"):
    class Adapter(ConnectorAdapter):
        actions = {action: ActionSpec(inputs={})}

        def execute(self, action, params, context):
            return {"ran": code}

    Adapter.code = code
    return Adapter


# --- the three ways to register -----------------------------------------------------


def test_register_makes_a_class_available_by_its_code(empty_registry):
    adapter = register(LegacyERPAdapter)
    assert isinstance(adapter, LegacyERPAdapter)
    assert get_connector("legacy_erp") is adapter
    assert get_action("legacy_erp", "create_order").inputs["customer_id"]["required"] is True


def test_register_accepts_a_configured_instance(empty_registry):
    instance = LegacyERPAdapter()
    assert register(instance) is instance
    assert get_connector("legacy_erp") is instance


def test_the_decorator_registers_and_returns_the_class(empty_registry):
    @register_connector
    class Weather(ConnectorAdapter):
        code = "weather"
        name = "Weather"
        actions = {"forecast": ActionSpec(inputs={"city": {"type": "string"}})}

        def execute(self, action, params, context):
            return {"sky": "clear"}

    assert isinstance(Weather, type)
    assert isinstance(get_connector("weather"), Weather)


def test_load_connectors_registers_the_builtins(empty_registry, monkeypatch):
    monkeypatch.setattr(registry, "entry_points", fake_entry_points())
    codes = {adapter.code for adapter in load_connectors()}
    builtins = {path.rsplit(".", 1)[0].rsplit(".", 1)[1] for path in BUILTIN_CONNECTORS}
    assert {"log", "transform", "http", "slack", "llm"} <= codes
    # The test settings also register the engine's test kit through CONNECTORS.
    assert codes - {"testkit"} == builtins


def test_load_connectors_registers_entry_points(empty_registry, monkeypatch):
    entry = connector_entry_point("erp", f"{ADAPTERS}:LegacyERPAdapter")
    unrelated = EntryPoint(name="x", value="nowhere:Nothing", group="some.other.group")
    monkeypatch.setattr(registry, "entry_points", fake_entry_points(unrelated, entry))
    load_connectors()
    assert isinstance(get_connector("legacy_erp"), LegacyERPAdapter)
    codes = [a.code for a in all_connectors()]
    assert codes == sorted(codes)
    assert {"legacy_erp", "log", "transform"} <= set(codes)


def test_an_entry_point_that_fails_to_load_stops_start_up_naming_it(empty_registry, monkeypatch):
    entry = connector_entry_point("erp", "no_such_module_xyz:Adapter")
    monkeypatch.setattr(registry, "entry_points", fake_entry_points(entry))
    with pytest.raises(ConnectorRegistrationError) as caught:
        load_connectors()
    assert "no_such_module_xyz:Adapter" in str(caught.value)
    assert registry.ENTRY_POINT_GROUP in str(caught.value)
    assert isinstance(caught.value, ImproperlyConfigured)


def test_an_entry_point_that_is_not_a_connector_is_refused(empty_registry, monkeypatch):
    entry = connector_entry_point("nope", f"{ADAPTERS}:NotAConnector")
    monkeypatch.setattr(registry, "entry_points", fake_entry_points(entry))
    with pytest.raises(ConnectorRegistrationError, match="not a ConnectorAdapter subclass"):
        load_connectors()


def test_load_connectors_registers_dotted_paths_from_settings(empty_registry, monkeypatch):
    monkeypatch.setattr(registry, "entry_points", fake_entry_points())
    with override_settings(DJANGO_AUTOMATE={"CONNECTORS": [f"{ADAPTERS}.LegacyERPAdapter"]}):
        load_connectors()
    assert isinstance(get_connector("legacy_erp"), LegacyERPAdapter)


@pytest.mark.parametrize("path", [f"{ADAPTERS}.NoSuchClass", "no_such_package_xyz.Adapter"])
def test_a_dotted_path_that_cannot_be_imported_names_the_setting(empty_registry, monkeypatch, path):
    monkeypatch.setattr(registry, "entry_points", fake_entry_points())
    with (
        override_settings(DJANGO_AUTOMATE={"CONNECTORS": [path]}),
        pytest.raises(ConnectorRegistrationError) as caught,
    ):
        load_connectors()
    assert path in str(caught.value)
    assert "DJANGO_AUTOMATE['CONNECTORS']" in str(caught.value)


def test_connectors_setting_must_be_a_list_of_paths(empty_registry, monkeypatch):
    monkeypatch.setattr(registry, "entry_points", fake_entry_points())
    with (
        override_settings(DJANGO_AUTOMATE={"CONNECTORS": f"{ADAPTERS}.LegacyERPAdapter"}),
        pytest.raises(ConnectorRegistrationError, match="must be a list of dotted paths"),
    ):
        load_connectors()


# --- duplicates and re-registration -------------------------------------------------


def test_two_classes_with_one_code_is_an_error_naming_both(empty_registry):
    register(LegacyERPAdapter)
    with pytest.raises(ConnectorRegistrationError) as caught:
        register(OtherERPAdapter)
    message = str(caught.value)
    assert f"{ADAPTERS}.LegacyERPAdapter" in message
    assert f"{ADAPTERS}.OtherERPAdapter" in message
    assert "'legacy_erp'" in message
    assert isinstance(get_connector("legacy_erp"), LegacyERPAdapter)


def test_a_duplicate_between_entry_point_and_setting_fails_start_up(empty_registry, monkeypatch):
    entry = connector_entry_point("erp", f"{ADAPTERS}:LegacyERPAdapter")
    monkeypatch.setattr(registry, "entry_points", fake_entry_points(entry))
    with (
        override_settings(DJANGO_AUTOMATE={"CONNECTORS": [f"{ADAPTERS}.OtherERPAdapter"]}),
        pytest.raises(ImproperlyConfigured) as caught,
    ):
        load_connectors()
    message = str(caught.value)
    assert "LegacyERPAdapter" in message
    assert "OtherERPAdapter" in message
    assert "DJANGO_AUTOMATE['CONNECTORS']" in message


def test_registering_the_same_class_again_changes_nothing(empty_registry):
    first = register(LegacyERPAdapter)
    assert register(LegacyERPAdapter) is first
    assert register_connector(LegacyERPAdapter) is LegacyERPAdapter
    assert get_connector("legacy_erp") is first
    assert len(all_connectors()) == 1


def test_load_connectors_can_run_twice(empty_registry, monkeypatch):
    entry = connector_entry_point("erp", f"{ADAPTERS}:LegacyERPAdapter")
    monkeypatch.setattr(registry, "entry_points", fake_entry_points(entry))
    with override_settings(DJANGO_AUTOMATE={"CONNECTORS": [f"{ADAPTERS}.LegacyERPAdapter"]}):
        first = load_connectors()
        assert load_connectors() == first


# --- invalid definitions ------------------------------------------------------------


@pytest.mark.parametrize("code", ["", "x", "Slack", "1slack", "slack-bot", "a" * 51])
def test_a_code_that_does_not_match_the_pattern_is_refused(empty_registry, code):
    with pytest.raises(ConnectorRegistrationError, match="must match"):
        register(make_adapter(code))


def test_actions_must_be_action_specs(empty_registry):
    class Sloppy(ConnectorAdapter):
        code = "sloppy"
        actions = {"send": {"inputs": {}}}

        def execute(self, action, params, context):
            return {}

    with pytest.raises(
        ConnectorRegistrationError, match=r"actions\['send'\] must be an ActionSpec"
    ):
        register(Sloppy)


def test_a_connector_without_execute_is_refused(empty_registry):
    class Lazy(ConnectorAdapter):
        code = "lazy"

    with pytest.raises(ConnectorRegistrationError, match="cannot be created"):
        register(Lazy)


def test_only_connectors_can_be_registered(empty_registry):
    with pytest.raises(ConnectorRegistrationError, match="Only ConnectorAdapter"):
        register(object)


# --- lookups ------------------------------------------------------------------------


def test_an_unknown_connector_is_a_non_retryable_error_listing_the_known_ones(empty_registry):
    register(LogConnector)
    with pytest.raises(ConnectorError) as caught:
        get_connector("slak")
    assert caught.value.code == "unknown_connector"
    assert caught.value.retryable is False
    assert "'slak'" in str(caught.value)
    assert "log" in str(caught.value)


def test_get_action_for_an_unknown_action(empty_registry):
    register(LogConnector)
    with pytest.raises(ConnectorError) as caught:
        get_action("log", "erase")
    assert caught.value.code == "unknown_action"


def test_connector_exists(empty_registry):
    register(LogConnector)
    assert connector_exists("log", "write")
    assert not connector_exists("log", "erase")
    assert not connector_exists("slack", "write")


def test_all_connectors_are_sorted_by_code(empty_registry):
    for code in ("zendesk", "asana", "mailchimp"):
        register(make_adapter(code))
    assert [a.code for a in all_connectors()] == ["asana", "mailchimp", "zendesk"]


def test_override_swaps_in_a_fake_and_restores_the_real_one(empty_registry):
    register(LegacyERPAdapter)

    class FakeERP(ConnectorAdapter):
        code = "legacy_erp"
        actions = {"create_order": ActionSpec(inputs={})}

        def execute(self, action, params, context):
            return {"order_id": "fake"}

    with registry.override(FakeERP):
        assert isinstance(get_connector("legacy_erp"), FakeERP)
        register(make_adapter("extra"))
    assert isinstance(get_connector("legacy_erp"), LegacyERPAdapter)
    assert not connector_exists("extra", "go")


def test_unregister_removes_a_connector(empty_registry):
    register(LogConnector)
    unregister("log")
    assert all_connectors() == []
    with pytest.raises(ConnectorError, match="No connector"):
        unregister("log")


# --- policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "allowed"),
    [
        ("http", True),
        ("slack", True),
        ("slack_enterprise", True),
        ("https", False),
        ("http_v2", False),
        ("log", False),
        ("my_slack", False),
    ],
)
def test_the_allowlist_holds_glob_patterns_over_codes(code, allowed):
    with policy("http", "slack*"):
        assert connector_allowed(code) is allowed


def test_every_connector_is_allowed_by_default():
    assert connector_allowed("anything_at_all")


def test_an_empty_allowlist_allows_nothing():
    with policy():
        assert not connector_allowed("log")


def test_check_connector_allowed_raises_a_non_retryable_error_naming_the_setting():
    with policy("http"), pytest.raises(ConnectorError) as caught:
        check_connector_allowed("slack")
    assert caught.value.code == "connector_not_allowed"
    assert caught.value.retryable is False
    assert "connector_allowlist" in str(caught.value)
    with policy("http"):
        check_connector_allowed("http")  # no error


def test_all_connectors_can_list_only_the_allowed_ones(empty_registry):
    for code in ("http", "slack", "log"):
        register(make_adapter(code))
    with policy("http", "slack*"):
        assert [a.code for a in all_connectors(allowed_only=True)] == ["http", "slack"]
        assert len(all_connectors()) == 3


def test_run_action_refuses_a_connector_the_policy_forbids_before_it_acts(empty_registry):
    ORDERS.clear()
    register(LegacyERPAdapter)
    context = ExecutionContext(run_id="r1", node_id="n1")
    params = {"customer_id": "c1", "items": []}
    with policy("log"), pytest.raises(ConnectorError) as caught:
        run_action("legacy_erp", "create_order", params, context)
    assert caught.value.code == "connector_not_allowed"
    assert not ORDERS
    assert run_action("legacy_erp", "create_order", params, context) == {"order_id": "ORD-c1"}
    assert ORDERS["r1:n1"] == params


def test_a_pattern_matching_no_connector_is_reported_by_the_system_check(empty_registry):
    register(make_adapter("slack"))
    with policy("slak", "slack*"):
        warnings = check_connector_allowlist()
    assert len(warnings) == 1
    assert "'slak'" in warnings[0].msg
    assert "slack" in warnings[0].hint
