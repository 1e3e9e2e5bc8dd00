"""Shared pytest configuration: trio mode is on for every async test."""
