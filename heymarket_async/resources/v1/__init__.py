"""The v1 endpoints (integer contact ids), which ``HeymarketClient`` inherits."""

from .contacts import V1Contacts
from .fields import V1ContactFields
from .status import V1ContactStatus
from .tags import V1Tags

__all__ = ["V1ContactFields", "V1ContactStatus", "V1Contacts", "V1Tags"]
