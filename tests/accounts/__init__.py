"""Tests of organisations, users, sign-in, sessions and API tokens."""
