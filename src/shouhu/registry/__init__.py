"""The registry: persons, their names, documents and records, the offence catalogue, imports."""
