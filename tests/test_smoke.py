"""The package imports, exposes its public names, and keeps aiohttp.web off the import path."""

import subprocess
import sys

import heymarket_async


def test_all_is_sorted_and_importable() -> None:
    names = [n for n in heymarket_async.__all__ if n != "__version__"]
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    for name in heymarket_async.__all__:
        assert hasattr(heymarket_async, name), name


def test_import_does_not_load_the_emulator() -> None:
    code = "import sys, heymarket_async; print('aiohttp.web' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
