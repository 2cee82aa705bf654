"""Which database the suite runs on, for the few tests that only hold on some of them."""

import pytest
from django.conf import settings


def on_mysql() -> bool:
    """Whether the suite runs on MySQL or MariaDB (the integration-mariadb tier)."""
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.mysql"


def skip_on_mysql(reason: str) -> pytest.MarkDecorator:
    """Skip a test on MySQL/MariaDB, saying why it cannot hold there."""
    return pytest.mark.skipif(on_mysql(), reason=f"MySQL/MariaDB: {reason}")


#: For tests of PostgreSQL itself (its SQL, psycopg, the server's statements).
postgresql_itself = skip_on_mysql("tests PostgreSQL's own SQL or driver")


#: Why a test that writes JSON nested deeper than 31 levels straight to the database is
#: skipped: MariaDB's JSON check refuses it, so no such row can exist there.
MARIADB_JSON_DEPTH = "MariaDB refuses JSON nested over 31 levels at write, so no such row exists"
