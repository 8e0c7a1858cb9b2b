"""Pure validation and normalisation of identity documents, codes and names (no database)."""
