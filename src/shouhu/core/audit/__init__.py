"""The append-only, hash-chained audit log (DESIGN §4)."""
