"""Base classes a host project builds its own code on: ``automate.base.admin`` holds the
admin base classes and mixins (docs/reference/admin.md)."""
