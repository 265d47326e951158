"""The test kit, for plugin authors and for twisted-dns's own tests.

- a server from a Corefile string, queried as a client would (:mod:`.server`):
  ``start_server``, ``RunningServer``, ``free_port``, ``default_registry``,
  ``registry_with`` (the installed plugins and some that are not);
- one plugin set up from a Corefile snippet and called with real Requests (:mod:`.unit`):
  ``configure`` (``controller`` for a parse function alone), ``make_request``,
  ``CaptureWriter``, ``reply_of``, ``NextPlugin``;
- a README's Corefile examples, checked against the installed directives
  (:mod:`.examples`): ``corefile_examples``, ``check_examples``, ``fenced_blocks``;
- time (:mod:`.timing`): ``eventually`` instead of a polling loop, ``ClockedReactor`` for
  real I/O on a clock the test drives;
- real DNS servers as peers, BIND, Unbound and CoreDNS (:mod:`twisted_dns.testing.peers`,
  imported on its own), and ``require_program`` for the tests that need a program;
- a real Kubernetes control plane, kube-apiserver and etcd (:mod:`twisted_dns.testing.kube`,
  imported on its own): ``ControlPlane``, ``shared_control_plane``.
"""

from twisted_dns.testing.examples import (
    check_examples,
    corefile_examples,
    fenced_blocks,
    plugin_readme,
)
from twisted_dns.testing.server import (
    RunningServer,
    default_registry,
    free_port,
    registry_with,
    start_server,
)
from twisted_dns.testing.timing import ClockedReactor, eventually
from twisted_dns.testing.unit import (
    CaptureWriter,
    Configured,
    NextPlugin,
    configure,
    controller,
    make_request,
    reply_of,
)

__all__ = ["CaptureWriter", "ClockedReactor", "Configured", "NextPlugin", "RunningServer",
           "check_examples", "configure", "controller", "corefile_examples", "default_registry",
           "eventually", "fenced_blocks", "free_port", "make_request", "plugin_readme",
           "registry_with", "reply_of", "start_server"]
