"""Privacy protections (issue 14): personal data screened at ingest (README "Privacy")."""
