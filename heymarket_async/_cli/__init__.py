"""The ``heymarket-async`` console script (``heymarket_async._cli:main``); see ``_app``."""

from ._app import main

__all__ = ["main"]
