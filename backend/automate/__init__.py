"""Django Automate: events, JSONLogic rules and reliable workflow runs inside a Django app.

The stable public surface lives in small modules: ``automate.runtime``, ``automate.rules``,
``automate.templates``, ``automate.secrets``, ``automate.signals`` and friends. Importing
``automate`` itself does not import Django models, so it is safe in settings files.
"""

__version__ = "0.1.0"
