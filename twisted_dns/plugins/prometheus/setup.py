"""``prometheus [ADDRESS]``: parse the directive, add the chain link, register the endpoint."""

from __future__ import annotations

from twisted_dns.pkg.http import address_arg
from twisted_dns.plugins.prometheus import metrics
from twisted_dns.plugins.prometheus.dropped import DroppedObserver
from twisted_dns.plugins.prometheus.exporter import DEFAULT_ADDRESS, SHARED_KEY, Exporter
from twisted_dns.plugins.prometheus.prometheus import Metrics


def parse(c) -> tuple[str, tuple[str, int]]:
    """The address and where the directive is (once per block, as CoreDNS)."""
    address = DEFAULT_ADDRESS
    where = None
    while c.once():
        where = (c.file(), c.line())
        address = address_arg(c, DEFAULT_ADDRESS)
        while c.next_block():
            option = c.val()
            if option in ("tls", "runtime_metrics"):
                raise c.err(f"option {option} is not supported")
            raise c.err(f"unknown option: {option}")
    return address, where or ("", 0)


def setup(c) -> None:
    address, where = parse(c)
    reactor = c.reactor
    server_metrics = metrics.current()
    exporter: Exporter = c.shared(SHARED_KEY, lambda: Exporter(server_metrics, reactor))
    if not exporter.blocks:  # the configuration's first prometheus block
        # queries no block answers count in the "dropped" zone, on every listener
        c.observe_queries(lambda handler: DroppedObserver(server_metrics, handler))
        c.on_startup(exporter.start)
        c.on_shutdown(exporter.stop)
    block = c.config
    exporter.add(address, block, where)
    c.add_plugin(lambda next_plugin: Metrics(next_plugin, exporter, block, reactor))
