"""Shared fixtures for every tier. Factories live in tests/factories.py."""

import pytest


@pytest.fixture(autouse=True)
def _forget_known_secret_values():
    """Each test starts with no known secret values, as a new process does.

    The process-wide masker keeps up to 512 values; the suite resolves thousands of
    random canaries, and re-compiling the masker's patterns for each one made later tests
    seconds slower than the same tests run alone.
    """
    from automate.governance.redaction import secret_masker

    secret_masker.clear()
