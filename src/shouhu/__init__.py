"""Shouhu (守护): registry, staff-access inquiry and one-stop cases for child safeguarding."""

__version__ = "0.1.0"
