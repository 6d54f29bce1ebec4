"""The API's endpoints, grouped by resource: each method validates its input, builds a request
from its declared :class:`Endpoint` and awaits the client's pipeline.

``HeymarketClient`` is the v1 resources (its methods are theirs); ``client.v2`` is
:class:`V2Contacts`. The classes are importable for type hints.
"""

from .v1 import V1ContactFields, V1Contacts, V1ContactStatus, V1Tags
from .v2 import V2Contacts

__all__ = ["V1ContactFields", "V1ContactStatus", "V1Contacts", "V1Tags", "V2Contacts"]
