"""Standard output whose reader may go away (``ecs-gitops render ... | head``).

Python ignores SIGPIPE, so writing to a pipe whose reader has exited raises BrokenPipeError.
A command whose reader went away ends quietly with the status a shell reports for a writer
that SIGPIPE ended, as ``cat`` or ``grep`` would; ``sync`` finishes its pass first (a rollout
is never left half-way because nobody reads its lines any more) and prints nothing more.

Does I/O: the process's standard output.
"""

from __future__ import annotations

import os
import sys
import threading

EXIT_READER_GONE = 128 + 13
"""141: what a shell reports for a writer that SIGPIPE (13) ended."""


def detach_stdout() -> None:
    """Point standard output at the null device: nothing written after this fails.

    Python flushes stdout once more at exit; without this, that flush would print an
    "Exception ignored" message about the same closed pipe.
    """
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):
        return  # not a file (a test's captured output): nothing to redirect
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


class Lines:
    """Prints lines on standard output, one call each, from any thread; once the reader is
    gone (``reader_gone``), the lines are dropped instead of failing the caller."""

    def __init__(self) -> None:
        self.reader_gone = False
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            if self.reader_gone:
                return
            try:
                print(line, flush=True)
            except BrokenPipeError:
                self.reader_gone = True
                detach_stdout()
