"""What the command shows its user besides its output: its name, its exit codes, and one-line
errors and notes on stderr.

Exit codes: 0 done; 1 the API or the network failed (or a file could not be written), with one
line naming the status and request id; 2 a usage error (bad flags, bad input, no credentials, a
resume that does not match); 130 interrupted by Ctrl-C (143 by SIGTERM), with the resume point
saved when a contact was; 141 the reader of ``-o -`` went away. An expected failure never prints
a traceback.
"""

from __future__ import annotations

from typing import Final, TextIO

PROG: Final = "heymarket-async"
EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130
EXIT_TERMINATED: Final = 143
#: The reader of ``-o -`` closed the pipe: what a shell reports for a process killed by SIGPIPE.
EXIT_BROKEN_PIPE: Final = 141


class Streams:
    """The command's stdout (its output) and stderr (``heymarket-async: ...`` lines)."""

    def __init__(self, stdout: TextIO, stderr: TextIO) -> None:
        self.stdout = stdout
        self.stderr = stderr

    def error(self, message: str) -> None:
        self.stderr.write(f"{PROG}: error: {message}\n")
        self.stderr.flush()

    def note(self, message: str) -> None:
        self.stderr.write(f"{PROG}: {message}\n")
        self.stderr.flush()
