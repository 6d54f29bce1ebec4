"""The v2 endpoints (UUID contact ids), on ``HeymarketClient.v2``."""

from .contacts import V2Contacts

__all__ = ["V2Contacts"]
