"""The package version, read by hatchling from this file."""

__version__ = "0.1.0.dev0"
