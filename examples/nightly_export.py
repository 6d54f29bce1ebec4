"""A nightly incremental export: the contacts created or changed since the last run, as JSONL.

    pip install heymarket-async
    export HEYMARKET_API_KEY=...
    python examples/nightly_export.py "changes-$(date +%F).jsonl" heymarket.state

The first run (no state file yet) exports every contact; each later run, those created or
changed since the last run that finished. The state file holds the final position of the last
run's walk (``V2Position.to_json()``): a v2 keyset walk that ended, resumed, reads only what
changed since. Each contact is written as the JSON object the API sent (``raw=True``), one line
each, in its newest version. The output is written to OUTPUT.part and renamed once complete,
and only then is the state replaced: a run that fails leaves the state as it was, so the next
run exports those changes too (at least once, never lost). Deleted contacts are not reported:
a list does not show them.

The command does the same and more (a run killed midway finished with ``--resume``, memory
bounded by the changes rather than the contacts): ``heymarket-async export -o OUTPUT
--since-last MARK``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from heymarket_async import HeymarketClient


async def export_changes(hm: HeymarketClient, output: Path, state: Path) -> int:
    """Write the contacts changed since the run saved in ``state`` to ``output``, then save
    this run in ``state``; returns how many contacts were written."""
    saved = read_state(state)
    part = output.with_name(output.name + ".part")
    newest: dict[int, int] = {}  # contact id -> the line of its newest version
    older: set[int] = set()  # the lines holding a contact's older version
    lines = 0
    # Plain blocking file I/O: a batch job has nothing else on its event loop.
    with part.open("w", encoding="utf-8") as out:
        async with hm.v2.iter_contacts(raw=True, resume=saved) as pager:
            async for page in pager.pages():
                for contact in page:
                    # A contact changed during the walk comes out again, and only in a newer
                    # version: its last line is the one to keep.
                    if (earlier := newest.get(contact["id"])) is not None:
                        older.add(earlier)
                    newest[contact["id"]] = lines
                    out.write(json.dumps(contact, ensure_ascii=False) + "\n")
                    lines += 1
            position = pager.position.to_json()  # the walk has ended: next run starts here
        out.flush()
        os.fsync(out.fileno())
    if older:
        drop_lines(part, older)
    os.replace(part, output)
    # Only now that the output is complete: a run that fails before this line exports the
    # same changes again next time.
    replace_file(state, position)
    return lines - len(older)


def read_state(state: Path) -> str | None:
    """The position the last finished run saved, or ``None`` before the first run."""
    try:
        return state.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def drop_lines(path: Path, numbers: set[int]) -> None:
    """Rewrite ``path`` without the lines numbered ``numbers`` (from 0)."""
    kept = path.with_name(path.name + ".tmp")
    with path.open("rb") as src, kept.open("wb") as dst:
        for number, line in enumerate(src):
            if number not in numbers:
                dst.write(line)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(kept, path)


def replace_file(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically: a crash leaves the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


async def run(output: Path, state: Path) -> int:
    # Credentials from the environment: HEYMARKET_API_KEY (or the secret pair), and
    # HEYMARKET_BASE_URL if set. Paced at 500 requests a minute against api.heymarket.com.
    async with HeymarketClient() as hm:
        return await export_changes(hm, output, state)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python nightly_export.py OUTPUT STATE", file=sys.stderr)
        return 2
    output, state = Path(args[0]), Path(args[1])
    written = asyncio.run(run(output, state))
    print(f"{written} contacts written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
