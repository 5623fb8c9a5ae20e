"""Publish: overview pages, their plots and templates, from technique.toml and measured results."""
