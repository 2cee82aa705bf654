"""The database-tagged system check: on MariaDB, the JSON depth limits must fit what it
stores (``migrate`` runs it; docs/howto/mysql.md)."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from automate.checks import check_database_json_depth

pytestmark = pytest.mark.django_db

FITTING = {"LIMITS": {"max_json_depth": 24, "max_definition_depth": 31}}


def test_mariadb_warns_while_the_json_depth_limits_exceed_what_it_stores():
    found = check_database_json_depth(databases=["default"])
    if not getattr(connection, "mysql_is_mariadb", False):
        assert found == []
        return
    assert [message.id for message in found] == ["automate.W090", "automate.W090"]
    assert "max_json_depth" in found[0].msg
    assert "max_definition_depth" in found[1].msg
    assert "docs/howto/mysql.md" in found[0].hint
    with override_settings(DJANGO_AUTOMATE=FITTING):
        assert check_database_json_depth(databases=["default"]) == []


@override_settings(DJANGO_AUTOMATE=FITTING)
def test_the_limits_it_asks_for_pass_every_check_on_this_database():
    call_command("check", "--database", "default", "--fail-level", "WARNING")
