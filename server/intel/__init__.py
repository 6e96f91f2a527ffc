"""Analyst intelligence: the observable lookup ("have we seen this?") and its API."""
