"""``kubernetes [ZONES...] { ... }``, parsed as CoreDNS's ``ParseStanza`` (``setup.go``),
with its error texts, each at the Corefile's ``file:line``.

The connection to the API is made from the options at setup (a bad kubeconfig or TLS file
is an error at the directive's line, as in CoreDNS; the in-cluster service account is read
when the server starts, see ``watch``) and started with the server. CoreDNS then waits up
to ``startup_timeout`` for the first sync before it serves; here the server answers at once
(SERVFAIL for the cluster's names it cannot find yet) and says so in the log when the timeout
passes unsynced.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from typing import Any

from twisted.logger import Logger

from twisted_dns.config import Controller
from twisted_dns.errors import ConfigError
from twisted_dns.names import normalize
from twisted_dns.pkg.backend import ip_text, parse_ip
from twisted_dns.pkg.durations import parse_duration
from twisted_dns.pkg.fallthrough import Fallthrough
from twisted_dns.pkg.upstream import Upstream
from twisted_dns.plugins.kubernetes import watch
from twisted_dns.plugins.kubernetes.controller import Controller as ClusterController
from twisted_dns.plugins.kubernetes.kubernetes import (
    PODS_DISABLED,
    PODS_INSECURE,
    PODS_VERIFIED,
    Kubernetes,
    Options,
)
from twisted_dns.plugins.kubernetes.metrics import programming_latency
from twisted_dns.plugins.kubernetes.parse import is_reverse
from twisted_dns.plugins.kubernetes.selector import SelectorError, canonical

log = Logger(namespace="kubernetes")

RESOLV_CONF = "/etc/resolv.conf"
_FLOAT = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)",
                    re.IGNORECASE)

#: ``connect(reactor, options, controller)``: something with ``start()`` and ``stop()``
#: that feeds the controller (``watch.connect``; tests pass a fake)
Connect = Callable[[Any, Options, ClusterController], Any]


def _quote(text: str) -> str:
    """Go's ``%q`` for the texts that go into error messages."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _atoi(text: str) -> int | None:
    """Go's ``strconv.Atoi``: an optional sign and decimal digits, None otherwise."""
    digits = text[1:] if text[:1] in "+-" else text
    return int(text) if digits.isascii() and digits.isdigit() else None


def _atoi_error(text: str) -> str:
    return f"strconv.Atoi: parsing {_quote(text)}: invalid syntax"


def _number(c: Controller, name: str, args: list[str], real: bool = False) -> float:
    """The one non-negative argument of ``apiserver_qps`` (``real``), ``_burst`` or
    ``_max_inflight``."""
    if len(args) != 1:
        raise c.arg_err()
    text = args[0]
    if real:
        if not _FLOAT.fullmatch(text):
            raise c.err(f"invalid {name} {_quote(text)}: strconv.ParseFloat: parsing "
                        f"{_quote(text)}: invalid syntax")
        value: float = float(text)
    else:
        number = _atoi(text)
        if number is None:
            raise c.err(f"invalid {name} {_quote(text)}: {_atoi_error(text)}")
        value = number
    if value < 0:
        raise c.err(f"{name} must be >= 0")
    return value


def search_from_resolv_conf(path: str = RESOLV_CONF) -> list[str]:
    """The search list of ``path`` (its last ``search`` or ``domain`` line), normalized;
    none when it cannot be read."""
    search: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) > 1 and fields[0] == "search":
                    search = fields[1:]
                elif len(fields) > 1 and fields[0] == "domain":
                    search = fields[1:2]
    except OSError:
        return []
    return [normalize(name) for name in search]


def parse(c: Controller, search: Sequence[str] | None = None) -> Options:
    """The directive (once per block) as Options; ``search`` (default: the host's
    resolv.conf) is autopath's search list."""
    options: Options | None = None
    while c.once():
        options = _stanza(c, search_from_resolv_conf() if search is None else list(search))
    assert options is not None  # the controller only runs for a directive that is there
    return options


def _stanza(c: Controller, search: list[str]) -> Options:
    origin = (c.file(), c.line())
    zones = c.zone_args() or list(c.zones)
    primary = next((zone for zone in zones if not is_reverse(zone)), None)
    if primary is None:
        raise c.err("non-reverse zone name must be used")
    options = Options(zones, primary_zone=primary, search=search, origin=origin)
    qps_line = None
    while c.next_block():
        if c.val() == "apiserver_qps":
            qps_line = c.err("burst is required to be greater than 0 when RateLimiter is not "
                             "set and QPS is set: set apiserver_burst too")
        _option(c, options, c.val())
    if options.namespaces and options.namespace_labels:
        raise c.err("namespaces and namespace_labels cannot both be set")
    for zone in options.multicluster_zones:
        if zone not in options.zones:
            raise c.err(f"is not authoritative for the multicluster zone {zone} "
                        f"(authoritative zones: [{' '.join(options.zones)}])")
    if options.zonal and not options.endpoints:
        raise c.err("zonal requires the endpoint cache; remove noendpoints")
    if options.api_qps and not options.api_burst and qps_line is not None:
        raise qps_line  # CoreDNS fails at start with client-go's words; here, at load
    return options


def _no_args(c: Controller) -> None:
    if c.remaining_args():
        raise c.arg_err()


def _option(c: Controller, options: Options, option: str) -> None:
    """One line of the block."""
    if option == "endpoint_pod_names":
        _no_args(c)
        options.endpoint_pod_names = True
    elif option == "pods":
        args = c.remaining_args()
        if len(args) != 1:
            raise c.arg_err()
        if args[0] not in (PODS_DISABLED, PODS_INSECURE, PODS_VERIFIED):
            raise c.err(f"wrong value for pods: {args[0]},  must be one of: disabled, "
                        "verified, insecure")
        options.pod_mode = args[0]
    elif option == "namespaces":
        args = c.remaining_args()
        if not args:
            raise c.arg_err()
        options.namespaces.update(args)
    elif option == "endpoint":
        args = c.remaining_args()
        if not args:
            raise c.arg_err()
        if len(args) > 1:
            log.warn("Multiple endpoints have been deprecated, only the first specified "
                     "endpoint '{endpoint}' is used", endpoint=args[0])
        options.endpoint = args[0]
    elif option == "tls":
        args = c.remaining_args()
        if len(args) != 3:
            raise c.arg_err()
        options.tls = (args[0], args[1], args[2])
    elif option in ("labels", "namespace_labels"):
        args = c.remaining_args()
        if not args:
            raise c.arg_err()
        text = " ".join(args)
        try:
            selector = canonical(text)
        except SelectorError as exc:
            what = "label" if option == "labels" else "namespace_label"
            raise c.err(f"unable to parse {what} selector value: '{text}': {exc}") from None
        if option == "labels":
            options.labels = selector
        else:
            options.namespace_labels = selector
    elif option == "fallthrough":
        options.fall = Fallthrough.from_args(c.remaining_args())
    elif option == "ttl":
        args = c.remaining_args()
        if not args:
            raise c.arg_err()
        ttl = _atoi(args[0])
        if ttl is None:
            raise c.err(_atoi_error(args[0]))
        if not 0 <= ttl <= 3600:
            raise c.err(f"ttl must be in range [0, 3600]: {ttl}")
        options.ttl = ttl
    elif option == "noendpoints":
        _no_args(c)
        options.endpoints = False
    elif option == "zonal":
        _no_args(c)
        options.zonal = True
    elif option == "ignore":
        args = c.remaining_args()
        if args:  # CoreDNS accepts a bare ``ignore``
            if args[0] != "empty_service":
                raise c.err(f"unable to parse ignore value: '{args[0]}'")
            options.ignore_empty_service = True
    elif option == "kubeconfig":
        args = c.remaining_args()
        if len(args) not in (1, 2):
            raise c.arg_err()
        options.kubeconfig = (args[0], args[1] if len(args) == 2 else None)
    elif option == "multicluster":
        options.multicluster_zones = c.zone_args()
    elif option == "startup_timeout":
        args = c.remaining_args()
        if not args:
            raise c.arg_err()
        try:
            options.startup_timeout = parse_duration(args[0])
        except ValueError as exc:
            raise c.err(f"failed to parse startup_timeout: {args[0]}, {exc}") from None
    elif option == "apiserver_qps":
        options.api_qps = _number(c, option, c.remaining_args(), real=True)
    elif option == "apiserver_burst":
        options.api_burst = int(_number(c, option, c.remaining_args()))
    elif option == "apiserver_max_inflight":
        options.api_max_inflight = int(_number(c, option, c.remaining_args()))
    else:
        raise c.err(f"unknown property '{option}'")


def bound_ips(listen_hosts: Sequence[str]) -> list[str]:
    """The addresses the server answers on, not loopback (``boundIPs``): every interface's
    without *bind*; with it, only hosts written as CIDRs count, as CoreDNS reads them."""
    hosts = list(listen_hosts)
    if not hosts or not hosts[0]:
        hosts = _interface_addresses()
    found = []
    for host in hosts:
        try:
            network = ipaddress.ip_interface(host) if "/" in host else None
        except ValueError:
            network = None
        if network is None or network.ip.is_loopback:
            continue
        packed = parse_ip(str(network.ip).split("%")[0])
        if packed is not None:
            found.append(ip_text(packed))
    return found


def _interface_addresses() -> list[str]:
    """Every address of every interface, as ``ADDRESS/PREFIX`` (Go's
    ``net.InterfaceAddrs``)."""
    import ifaddr

    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            address = ip.ip[0] if ip.is_IPv6 else ip.ip
            found.append(f"{address}/{ip.network_prefix}")
    return found


def install(c: Controller, options: Options, connect: Connect) -> Kubernetes:
    """Add the plugin for ``options``, fed through ``connect``'s feed, to the block."""
    reactor = c.reactor
    controller = ClusterController(reactor, endpoints=options.endpoints,
                                   pods=options.pod_mode == PODS_VERIFIED,
                                   multicluster=bool(options.multicluster_zones),
                                   zonal=options.zonal, latency=programming_latency())
    try:
        feed = connect(reactor, options, controller)
    except ValueError as exc:
        raise ConfigError(str(exc), *options.origin) from None
    config = c.config
    plugin = Kubernetes(options, controller, upstream=Upstream(config))
    timers: list[Any] = []

    def unsynced() -> None:
        timers.clear()
        if not controller.has_synced():
            log.warn("starting server with unsynced Kubernetes API: answering SERVFAIL for "
                     "names it does not know yet ({timeout})",
                     timeout=str(options.startup_timeout))

    def start() -> None:
        plugin.local_ips = bound_ips(config.listen_hosts)
        feed.start()
        timers.append(reactor.callLater(options.startup_timeout.seconds, unsynced))

    def stop() -> Any:
        for timer in timers:
            if timer.active():
                timer.cancel()
        timers.clear()
        return feed.stop()

    def add(next_plugin: Any) -> Kubernetes:
        plugin.next = next_plugin
        return plugin

    c.on_startup(start)
    c.on_shutdown(stop)
    c.add_plugin(add)
    return plugin


def setup(c: Controller) -> None:
    install(c, parse(c), watch.connect)
