"""An in-process emulator of the Heymarket contacts API, for tests (yours and ours).

::

    from heymarket_async.testing import FakeHeymarket

    async with FakeHeymarket(api_key="test") as fake:
        fake.seed(100)
        async with fake.client() as hm:
            contacts = await hm.list_contacts()

Not imported by ``import heymarket_async``: it needs ``aiohttp.web``. The pytest fixtures are
in :mod:`heymarket_async.testing.pytest_plugin`; ``python -m heymarket_async.testing`` runs the
emulator as a server of its own.
"""

from ._churn import Change
from ._clock import FakeClock
from ._faults import Fault, FaultKind, FaultRule, Faults
from ._limits import Latency, RateLimitRule, RateLog, RateLogEntry
from ._mock import MockTransport, install_clock
from ._routes import ROUTES
from ._server import FakeHeymarket, RecordedRequest
from ._store import ContactsView

__all__ = [
    "ROUTES",
    "Change",
    "ContactsView",
    "FakeClock",
    "FakeHeymarket",
    "Fault",
    "FaultKind",
    "FaultRule",
    "Faults",
    "Latency",
    "MockTransport",
    "RateLimitRule",
    "RateLog",
    "RateLogEntry",
    "RecordedRequest",
    "install_clock",
]
