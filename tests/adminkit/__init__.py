"""A test-only app for the admin base classes (``automate.base.admin``): a host project's
own model (``Gadget``, with a tenant, a status, an on/off switch, an owner and soft
delete), its parts, and a test admin site built on every class and mixin (admin.py)."""
