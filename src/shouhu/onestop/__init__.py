"""One-stop evidence collection: sites, cases, their children, suspects and teams (issue 6)."""
