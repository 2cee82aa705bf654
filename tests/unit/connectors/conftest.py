import pytest

from automate.connectors import registry


@pytest.fixture
def empty_registry():
    """An empty connector registry for the test; the real one comes back afterwards."""
    with registry.override(clear=True) as connectors:
        yield connectors


@pytest.fixture
def fresh_registry():
    """The registry as it is, with whatever the test registers undone afterwards."""
    with registry.override() as connectors:
        yield connectors
