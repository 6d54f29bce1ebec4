"""``python -m heymarket_async._cli``: the console script without its installed wrapper."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
