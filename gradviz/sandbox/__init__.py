"""Confinement a forked child applies to itself before a user's program runs."""
