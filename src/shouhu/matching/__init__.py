"""Matching: blocking keys, candidate retrieval, scoring, decision and explanation (DESIGN §5)."""
