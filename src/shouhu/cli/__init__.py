"""The `shouhu` command: Typer + Rich, usable from scripts (DESIGN §6)."""
