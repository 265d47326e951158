"""The ``forward FROM TO... { ... }`` directive (CoreDNS's ``plugin/forward/setup.go``).

Several ``forward`` lines in one block are chained in order: each one's next plugin is the
following ``forward`` (the last one's is the rest of the chain).
"""

from __future__ import annotations

from typing import Any

import dns.rcode

from twisted_dns.config import Controller
from twisted_dns.pkg.durations import parse_duration
from twisted_dns.pkg.upstreams import Upstream, UpstreamError, parse_upstreams
from twisted_dns.plugins.forward.forward import Forward, Options
from twisted_dns.plugins.forward.metrics import (
    ForwardMetrics,
    ProxyMetrics,
    UpstreamMetrics,
    forward_metrics,
    proxy_metrics,
)
from twisted_dns.plugins.forward.policy import POLICIES, Random
from twisted_dns.plugins.forward.proxy import Proxy
from twisted_dns.plugins.forward.transport import Timeouts
from twisted_dns.wire import name as wire_name

#: at most this many upstreams in one stanza
MAX_UPSTREAMS = 15
DEFAULT_EXPIRE = 10.0
DEFAULT_HEALTH_CHECK = 0.5


class Stanza:
    """What one ``forward`` line and its block say, before any socket exists."""

    def __init__(self, from_zone: str, upstreams: list[Upstream]) -> None:
        self.from_zone = from_zone
        self.upstreams = upstreams
        self.ignored: list[str] = []
        self.options = Options()
        self.policy: Any = Random()
        self.expire = DEFAULT_EXPIRE
        self.health_check = DEFAULT_HEALTH_CHECK
        self.health_domain = "."
        self.health_rd = True
        self.tls_args: list[str] = []
        self.tls_servername = ""
        #: client TLS options per ``tls://`` upstream, made once the block is read
        self.tls: dict[Upstream, Any] = {}

    def build(self, next_plugin: Any, reactor: Any, metrics: ForwardMetrics,
              upstream_metrics: ProxyMetrics) -> Forward:
        """The handler, with a proxy (sockets opened on first use) per upstream."""
        timeouts = Timeouts(reactor)
        proxies = []
        for upstream in self.upstreams:
            proxy = Proxy(upstream, reactor, timeouts, self.expire, self.tls.get(upstream),
                          UpstreamMetrics(upstream.addr, upstream_metrics))
            # the check uses the upstream's transport: TLS for tls://, else as force_tcp says
            proto = "tcp" if upstream.scheme == "tls" or self.options.force_tcp else "udp"
            proxy.start_health_check(self.health_check, proto, self.health_domain,
                                     self.health_rd)
            proxies.append(proxy)
        return Forward(next_plugin, self.from_zone, proxies, self.policy, reactor,
                       self.ignored, self.options, timeouts, metrics)


def tls_options(args: list[str], server_name: str) -> Any:
    """Twisted client TLS options from ``tls [CERT KEY] [CA]`` (CoreDNS's NewTLSConfigFromArgs).

    No CA: the system's trust store; a CERT and KEY: a client certificate.
    """
    from twisted.internet import ssl

    def read(path: str) -> bytes:
        with open(path, "rb") as handle:
            return handle.read()

    client = None
    if len(args) in (2, 3):
        client = ssl.PrivateCertificate.loadPEM(read(args[0]) + b"\n" + read(args[1]))
    trust = ssl.Certificate.loadPEM(read(args[-1])) if len(args) in (1, 3) else ssl.platformTrust()
    return ssl.optionsForClientTLS(server_name, trustRoot=trust, clientCertificate=client)


def _rcodes(c: Controller, args: list[str]) -> frozenset[int]:
    codes = set()
    for arg in args:
        try:
            codes.add(int(dns.rcode.from_text(arg.upper())))
        except (dns.rcode.UnknownRcode, ValueError):
            raise c.err(f"{arg} is not a valid rcode") from None
    return frozenset(codes)


def _int(c: Controller, name: str) -> int:
    if not c.next_arg():
        raise c.arg_err()
    try:
        value = int(c.val())
    except ValueError:
        raise c.err(f"{name}: invalid integer '{c.val()}'") from None
    if value < 0:
        raise c.err(f"{name} can't be negative: {value}")
    return value


def _duration(c: Controller, name: str) -> float:
    if not c.next_arg():
        raise c.arg_err()
    try:
        seconds = parse_duration(c.val()).seconds
    except ValueError as e:
        raise c.err(f"{name}: {e}") from None
    if seconds < 0:
        raise c.err(f"{name} can't be negative: {c.val()}")
    return seconds


def _no_args(c: Controller) -> None:
    if c.next_arg():
        raise c.arg_err()


def parse_block(c: Controller, stanza: Stanza) -> None:
    """One line of the stanza's block."""
    options = stanza.options
    prop = c.val()
    if prop == "except":
        if not c.next_arg():
            raise c.arg_err()
        stanza.ignored.extend(c.token_zones())
        while c.next_arg():
            stanza.ignored.extend(c.token_zones())
    elif prop == "max_fails":
        options.max_fails = _int(c, prop)
    elif prop == "max_connect_attempts":
        options.max_connect_attempts = _int(c, prop)
    elif prop == "max_idle_conns":
        _int(c, prop)  # accepted; idle connections are bounded by expire (see Bugs)
    elif prop == "health_check":
        stanza.health_check = _duration(c, prop)
        while c.next_arg():
            if c.val() == "no_rec":
                stanza.health_rd = False
            elif c.val() == "domain":
                if not c.next_arg():
                    raise c.arg_err()
                try:
                    wire_name(c.val())
                except ValueError:
                    raise c.err(f"health_check: invalid domain name {c.val()}") from None
                stanza.health_domain = c.val().lower().rstrip(".") + "."
            else:
                raise c.err(f"health_check: unknown option {c.val()}")
    elif prop == "force_tcp":
        _no_args(c)
        options.force_tcp = True
    elif prop == "prefer_udp":
        _no_args(c)
        options.prefer_udp = True
    elif prop == "tls":
        args = c.remaining_args()
        if len(args) > 3:
            raise c.arg_err()
        stanza.tls_args = args
    elif prop == "tls_servername":
        if not c.next_arg():
            raise c.arg_err()
        stanza.tls_servername = c.val()
    elif prop == "expire":
        stanza.expire = _duration(c, prop)
    elif prop == "policy":
        if not c.next_arg():
            raise c.arg_err()
        policy = POLICIES.get(c.val())
        if policy is None:
            raise c.err(f"unknown policy '{c.val()}'")
        stanza.policy = policy()
    elif prop == "max_concurrent":
        options.max_concurrent = _int(c, prop)
    elif prop == "next":
        args = c.remaining_args()
        if not args:
            raise c.arg_err()
        options.next_rcodes = _rcodes(c, args)
    elif prop == "failover":
        args = c.remaining_args()
        if not args:
            raise c.arg_err()
        codes = _rcodes(c, args)
        if 0 in codes:
            raise c.err("NoError cannot be used in failover")
        options.failover_rcodes = codes
    elif prop == "failfast_all_unhealthy_upstreams":
        _no_args(c)
        options.failfast_all_unhealthy = True
    else:
        raise c.err(f"unknown property '{prop}'")


def parse_stanza(c: Controller) -> Stanza:
    """One ``forward`` line (the dispenser on the directive) and its block."""
    if not c.next_arg():
        raise c.arg_err()
    from_zone = c.token_zones()[0]  # a CIDR off an octet boundary: only the first zone, as CoreDNS
    to = c.remaining_args()
    if not to:
        raise c.arg_err()
    try:
        upstreams = parse_upstreams(to)
    except UpstreamError as e:
        raise c.err(str(e)) from None
    for upstream in upstreams:
        if upstream.scheme not in ("dns", "tls"):
            raise c.err(f"'{upstream.scheme}' is not supported as a destination protocol "
                        f"in forward: {upstream}")
    stanza = Stanza(from_zone, upstreams)
    while c.next_block():
        parse_block(c, stanza)
    if len(upstreams) > MAX_UPSTREAMS:
        raise c.err(f"more than {MAX_UPSTREAMS} TOs configured: {len(upstreams)}")
    if stanza.tls_servername and any(u.server_name for u in upstreams):
        raise c.err("both forward ('tls_servername') and proxy level TLS configurations "
                    "are specified")
    for upstream in upstreams:
        if upstream.scheme == "tls":
            name = upstream.server_name or stanza.tls_servername or upstream.host
            try:
                stanza.tls[upstream] = tls_options(stanza.tls_args, name)
            except ImportError as e:
                raise c.err(f"DNS over TLS needs Twisted's TLS support (twisted[tls]): {e}") \
                    from None
            except Exception as e:  # unreadable or malformed certificate files
                raise c.err(f"tls: {e}") from None
    return stanza


def setup(c: Controller) -> None:
    stanzas = []
    while c.next():
        stanzas.append(parse_stanza(c))
    reactor = c.reactor
    built: list[Forward] = []
    # the process's metric objects: a reload's new stanzas count on the same series
    counts, upstream_counts = forward_metrics(), proxy_metrics()

    def factory(stanza: Stanza) -> Any:
        def build(next_plugin: Any) -> Forward:
            forward = stanza.build(next_plugin, reactor, counts, upstream_counts)
            built.append(forward)
            return forward
        return build

    def shutdown() -> None:
        for forward in built:
            forward.stop()

    for stanza in stanzas:
        c.add_plugin(factory(stanza))
    c.on_shutdown(shutdown)
