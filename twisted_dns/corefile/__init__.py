"""The Corefile: lexer, parser, directive cursor and server block keys.

Errors a user can cause are :class:`~twisted_dns.errors.ConfigError` at ``FILE:LINE``. The
syntax is documented for users in ``docs/corefile.md``.
"""

from twisted_dns.corefile.dispenser import Dispenser
from twisted_dns.corefile.keys import (
    SCHEME_PORTS,
    SERVED_SCHEMES,
    ZoneAddr,
    parse_key,
    parse_server_key,
)
from twisted_dns.corefile.lexer import Token, tokenize
from twisted_dns.corefile.parser import ServerBlock, load, parse, read_corefile

__all__ = [
    "SCHEME_PORTS",
    "SERVED_SCHEMES",
    "Dispenser",
    "ServerBlock",
    "Token",
    "ZoneAddr",
    "load",
    "parse",
    "parse_key",
    "parse_server_key",
    "read_corefile",
    "tokenize",
]
