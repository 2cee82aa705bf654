"""Root conftest: the docs' examples are collected by Sybil (see tests/docs/examples.py).

Only files passed to pytest are collected, so other tiers (``pytest tests/unit``) do not
see them; ``scripts/run-tests`` runs them in the ``docs`` tier.
"""

from tests.docs.examples import docs_sybil
from tests.docs.fixtures import docs_database, docs_page  # noqa: F401  (used by every example)

pytest_collect_file = docs_sybil.pytest()
