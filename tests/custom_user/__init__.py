"""A host project's own user model: email is the login, there is no ``username`` field.

The custom-user tier (scripts/run-tests) runs the studio, admin, API, command and audit
tests with ``--ds=tests.custom_user.settings`` to prove the app works with any
``AUTH_USER_MODEL``."""
