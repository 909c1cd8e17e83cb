"""Developer tooling that runs before Django is configured (no Django imports here)."""
