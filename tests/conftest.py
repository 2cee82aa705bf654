"""Shared fixtures for every tier. Factories live in tests/factories.py."""
