"""*kubernetes*: the Kubernetes DNS-Based Service Discovery specification (schema 1.1.0)
from the cluster's API, as CoreDNS's plugin (see README.md).

Other plugins use the plugin object a block's chain holds (``config.plugin("kubernetes")``),
a :class:`Kubernetes`:

- ``AutoPath(request)``: the search path of the pod asking, or None (autopath's
  ``@kubernetes``);
- ``External(state, headless)``, ``ExternalAddress(state, headless)``,
  ``ExternalServices(zone, headless)``, ``ExternalSerial(zone)``, ``ExternalReverse(ip)``:
  what k8s_external serves (``state`` a :class:`twisted_dns.pkg.backend.State`; the
  services are :class:`twisted_dns.pkg.backend.Service`; ``ENDPOINT`` and ``PORT_PROTOCOL``
  end the keys of ExternalServices' headless map);
- ``Transfer(origin)``: its zones for the *transfer* plugin.

The modules, as CoreDNS's ``plugin/kubernetes``: ``objects`` (the API's objects, cut down),
``controller`` (the stores, their indexes, the serial), ``parse`` (query names),
``kubernetes`` (the plugin), ``external``, ``xfr``, ``metrics``, ``selector`` (label
selectors), ``watch`` (the API client feeding the stores), ``setup``.
"""

from twisted_dns.plugins.kubernetes.controller import Controller
from twisted_dns.plugins.kubernetes.external import ENDPOINT, PORT_PROTOCOL
from twisted_dns.plugins.kubernetes.kubernetes import Kubernetes, Options

__all__ = ["ENDPOINT", "PORT_PROTOCOL", "Controller", "Kubernetes", "Options"]
