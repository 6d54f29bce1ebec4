"""``python -m heymarket_async.testing --port 8787 --contacts 100000``: see ``_serve``."""

import sys

from ._serve import main

sys.exit(main())
