"""The ``root PATH`` directive: sets the block's root directory (``BlockConfig.root``)."""

from __future__ import annotations

import os
import stat

from twisted.logger import Logger

from twisted_dns.config import Controller

log = Logger(namespace="root")


def setup(c: Controller) -> None:
    while c.next():
        if not c.next_arg():
            raise c.arg_err()
        path = c.val()
        if c.next_arg():
            raise c.arg_err()
        if c.next_block():
            raise c.err(f"unknown property '{c.val()}'")
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            # allowed, as in CoreDNS: the directory may appear later, but say so
            log.warn("Root path does not exist: {path}", path=path)
        except OSError as exc:
            raise c.err(f"unable to access root path '{path}': {exc.strerror}") from exc
        else:
            if not stat.S_ISDIR(mode):
                raise c.err(f"root path '{path}' is not a directory")
        # relative to the working directory at setup, as CoreDNS; kept absolute so a later
        # chdir (twistd's --rundir) does not move it
        c.config.root = os.path.abspath(path)
