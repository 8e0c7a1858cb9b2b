"""One-stop evidence collection: sites, cases, joint sessions, interviews, evidence and custody."""
