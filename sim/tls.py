"""The simulators' certificate authority.

Every simulator serves HTTPS with a certificate issued by a private CA, so clients
verify TLS exactly as they do against EKS: with the base64 CA bundle that
``DescribeCluster`` returns in ``certificateAuthority.data``. One CA may sign the
certificates of several servers (the EKS, STS and Kubernetes simulators of one
process), which is why the CA is its own object rather than a detail of a server.

The CA wraps :class:`trustme.CA` (ECDSA keys, cheap to generate). Server contexts
are cached per set of host names because issuing a certificate costs a few
milliseconds and simulators are started often in tests.
"""

from __future__ import annotations

import base64
import os
import ssl
from pathlib import Path
from typing import Final

import trustme

DEFAULT_HOSTNAMES: Final[tuple[str, ...]] = ("127.0.0.1", "localhost")
CA_CERT_FILE: Final = "ca.pem"
CA_KEY_FILE: Final = "ca-key.pem"


class CertificateAuthority:
    """A private certificate authority for the simulators.

    Attributes:
        ca_pem: the PEM text of the CA certificate.
        ca_b64: base64 of ``ca_pem`` — the value EKS returns as ``certificateAuthority.data``.
    """

    def __init__(self, _ca: trustme.CA | None = None) -> None:
        self._ca = _ca or trustme.CA(organization_name="statewright simulators")
        self.ca_pem: bytes = self._ca.cert_pem.bytes()
        self.ca_b64: str = base64.b64encode(self.ca_pem).decode("ascii")
        self._server_contexts: dict[tuple[str, ...], ssl.SSLContext] = {}

    def server_ssl_context(self, *hostnames: str) -> ssl.SSLContext:
        """Return a server TLS context whose certificate names ``hostnames``.

        Args:
            *hostnames: DNS names or IP addresses; default ``127.0.0.1`` and ``localhost``.

        Returns:
            An ``ssl.SSLContext`` for ``PROTOCOL_TLS_SERVER`` (cached per set of names).
        """
        names = tuple(hostnames) or DEFAULT_HOSTNAMES
        context = self._server_contexts.get(names)
        if context is None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ca.issue_cert(*names).configure_cert(context)
            self._server_contexts[names] = context
        return context

    def client_ssl_context(self) -> ssl.SSLContext:
        """Return a client TLS context that trusts this CA only, with full verification."""
        return ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))

    def write_ca_file(self, path: str | os.PathLike[str]) -> None:
        """Write the CA certificate as PEM to ``path`` (for clients that want a file).

        This is a small synchronous write meant for setup code, not for a running loop's hot path.
        """
        Path(path).write_bytes(self.ca_pem)

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Keep the CA (certificate and private key) in ``directory``, so a restarted server reuses it.

        The key file is written with mode 0600; setup code only (small synchronous writes).
        """
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        key = folder / CA_KEY_FILE
        key.touch(mode=0o600, exist_ok=True)
        key.write_bytes(self._ca.private_key_pem.bytes())
        (folder / CA_CERT_FILE).write_bytes(self.ca_pem)

    @classmethod
    def load_or_create(cls, directory: str | os.PathLike[str]) -> CertificateAuthority:
        """The CA kept in ``directory`` by ``save``, or a new one saved there."""
        folder = Path(directory)
        cert, key = folder / CA_CERT_FILE, folder / CA_KEY_FILE
        if cert.exists() and key.exists():
            return cls(trustme.CA.from_pem(cert.read_bytes(), key.read_bytes()))
        ca = cls()
        ca.save(folder)
        return ca
