"""Certificates for running the mock services over TLS: a certificate authority made at run time (with
trustme), and the server certificate it issues for 127.0.0.1 and localhost.

Nothing here is ever trusted outside the run: the authority exists only in memory, and the one file kept
is its public certificate, for clients to trust. It lives in a private temporary folder that ``close()``
removes. No private key is kept on disk: OpenSSL can only load a server's key from a file, so it is written
to a file in that folder (readable by its owner only) for the moment it takes to load, then deleted.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path

import trustme

SERVER_NAMES = ("127.0.0.1", "localhost")
AUTHORITY_NAME = "Realtime acceptance suite test authority"
CA_FILE_NAME = "test-authority.pem"


class CertificateAuthority:
    """A test certificate authority for one service stack, and the certificate it issued for the services."""

    def __init__(self) -> None:
        self._authority = trustme.CA(organization_name=AUTHORITY_NAME)
        self._server_certificate = self._authority.issue_cert(*SERVER_NAMES)
        self._folder: Path | None = Path(tempfile.mkdtemp(prefix="rtas-tls-"))
        self.ca_file = self._folder / CA_FILE_NAME
        try:
            self._authority.cert_pem.write_to_path(str(self.ca_file))
        except OSError:
            self.close()
            raise

    @property
    def closed(self) -> bool:
        return self._folder is None

    def server_context(self, on_hello: Callable[[], None] | None = None) -> ssl.SSLContext:
        """A context for a server that shows the authority's certificate. ``on_hello`` is called for every
        TLS handshake a client starts, including ones the client then abandons because it does not trust
        the certificate, so a service can journal attempts that never become requests."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._load(self._server_certificate, context)
        if on_hello is not None:

            def hello(_ssl_object: object, _server_name: str | None, _context: ssl.SSLContext) -> None:
                # Whatever this returns would be taken as a TLS alert, so it returns nothing.
                on_hello()

            # The SNI callback is the one hook OpenSSL calls on every ClientHello (with or without a name).
            context.sni_callback = hello
        return context

    def client_context(self) -> ssl.SSLContext:
        """A context for a client that trusts this authority (and only this one)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # checks certificates and host names, trusts none
        self._authority.configure_trust(context)
        return context

    def show_genuine_certificate(self, context: ssl.SSLContext) -> None:
        """Make a server context show the authority's own certificate again (for handshakes from now on)."""
        self._load(self._server_certificate, context)

    def show_impostor_certificate(self, context: ssl.SSLContext) -> None:
        """Make a server context show a certificate for the same names from an authority nobody trusts (for
        handshakes from now on), as an impostor or a misconfigured server would."""
        impostor = trustme.CA(organization_name="Unknown authority")
        self._load(impostor.issue_cert(*SERVER_NAMES), context)

    def _load(self, certificate: trustme.LeafCert, context: ssl.SSLContext) -> None:
        if self._folder is None:
            raise RuntimeError("the test certificate authority has been closed")
        # trustme's own configure_cert would use the system's temporary folder; ours is private to the run.
        with certificate.private_key_and_cert_chain_pem.tempfile(dir=str(self._folder)) as path:
            context.load_cert_chain(path)

    def close(self) -> None:
        """Remove the temporary folder with the CA certificate. Safe to call more than once."""
        folder, self._folder = self._folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
