"""Cheap change detection for files plugins re-read on a timer (*file*, *auto*, *hosts*)."""

from __future__ import annotations

import os

#: (inode, size, modification time in nanoseconds)
Signature = tuple[int, int, int]


def signature(path: str) -> Signature | None:
    """What tells a changed file without reading it: inode (a file replaced by a rename),
    size and modification time; None when the file cannot be seen."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def mtime(sig: Signature) -> float:
    """The modification time (Unix seconds) a signature holds."""
    return sig[2] / 10**9
