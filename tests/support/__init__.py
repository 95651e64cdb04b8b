"""Helpers of the tests (no tests here). Test modules import helpers only from this package;
fixtures live in the conftest.py files."""
