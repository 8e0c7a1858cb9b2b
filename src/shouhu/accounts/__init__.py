"""Organisations, users, roles and policies, sessions, MFA, API tokens and lock-out."""
