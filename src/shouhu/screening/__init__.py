"""Screening: whether a person presented for a job is in the registry (DESIGN §1, §5)."""
