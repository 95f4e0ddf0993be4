"""The test certificate authority, and the service stack over TLS: what is written to disk and removed again,
which handshakes succeed, and that every TLS handshake is journaled."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from support.harness.settings import Settings, read_ini_defaults
from support.services.certificates import AUTHORITY_NAME, CertificateAuthority
from support.services.stack import ServiceStack

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def authority() -> Iterator[CertificateAuthority]:
    made = CertificateAuthority()
    yield made
    made.close()


async def handshake(server: ssl.SSLContext, client: ssl.SSLContext, host: str = "127.0.0.1") -> str:
    """A TLS handshake between the two contexts on loopback; returns the TLS version agreed."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    listener = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server)
    port = listener.sockets[0].getsockname()[1]
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname=host)
        version = writer.get_extra_info("ssl_object").version()
        writer.close()
        return str(version)
    finally:
        listener.close()
        await listener.wait_closed()


def test_only_the_public_ca_certificate_is_left_on_disk(authority: CertificateAuthority) -> None:
    authority.server_context()
    authority.show_impostor_certificate(authority.server_context())
    folder = authority.ca_file.parent
    assert [path.name for path in folder.iterdir()] == [authority.ca_file.name]
    pem = authority.ca_file.read_text(encoding="ascii")
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" not in pem
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700)


def test_close_removes_the_folder_and_can_be_repeated() -> None:
    made = CertificateAuthority()
    folder = made.ca_file.parent
    assert folder.is_dir() and not made.closed
    made.close()
    made.close()
    assert made.closed and not folder.exists()
    with pytest.raises(RuntimeError, match="closed"):
        made.server_context()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_client_that_trusts_the_authority_completes_a_handshake(
    authority: CertificateAuthority, host: str
) -> None:
    hellos: list[str] = []
    server = authority.server_context(on_hello=lambda: hellos.append("hello"))
    trusting = ssl.create_default_context(cafile=str(authority.ca_file))
    assert asyncio.run(handshake(server, trusting, host)).startswith("TLS")
    assert hellos == ["hello"]
    assert asyncio.run(handshake(server, authority.client_context(), host)).startswith("TLS")


def test_a_client_that_does_not_trust_the_authority_is_refused_but_its_hello_is_seen(
    authority: CertificateAuthority,
) -> None:
    hellos: list[str] = []
    server = authority.server_context(on_hello=lambda: hellos.append("hello"))
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(handshake(server, ssl.create_default_context()))
    assert hellos == ["hello"]


def test_an_impostor_certificate_is_refused_until_the_genuine_one_is_shown_again(
    authority: CertificateAuthority,
) -> None:
    server = authority.server_context()
    authority.show_impostor_certificate(server)
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(handshake(server, authority.client_context()))
    authority.show_genuine_certificate(server)
    assert asyncio.run(handshake(server, authority.client_context())).startswith("TLS")


def test_the_certificates_name_the_authority(authority: CertificateAuthority) -> None:
    context = authority.client_context()
    subjects = [dict(rdn[0] for rdn in ca["subject"]) for ca in context.get_ca_certs()]
    assert [subject.get("organizationName") for subject in subjects] == [AUTHORITY_NAME]


# -- the service stack over TLS ----------------------------------------------------------------------------


def settings(**overrides: str) -> Settings:
    return Settings.load(read_ini_defaults(ROOT / "behave.ini"), {}, {"seed": "1", **overrides})


def test_a_stack_over_tls_gives_secure_addresses_and_removes_its_authority_when_it_stops() -> None:
    stack = ServiceStack(settings(), tls=True)
    try:
        stack.start()
        endpoints = stack.endpoints
        assert endpoints.auth_url.startswith("https://127.0.0.1:")
        assert endpoints.gateway_url.startswith("wss://127.0.0.1:")
        assert f":{stack.proxy.port}/" in endpoints.gateway_url  # through the fault proxy, as before
        assert endpoints.ca_file is not None and Path(endpoints.ca_file).is_file()
        # A bare request with no token is still answered, over TLS, and its handshake is journaled.
        assert stack.gateway.probe(token=None) == 401
        assert stack.gateway_journal.count("tls handshake") == 1
    finally:
        stack.stop()
    assert not Path(endpoints.ca_file).exists()
    assert not Path(endpoints.ca_file).parent.exists()


def test_the_tls_setting_decides_for_the_shared_stack() -> None:
    for value, scheme, has_ca in (("on", "wss", True), ("off", "ws", False)):
        stack = ServiceStack(settings(tls=value))
        try:
            stack.start()
            assert stack.endpoints.gateway_url.startswith(f"{scheme}://")
            assert (stack.endpoints.ca_file is not None) is has_ca
        finally:
            stack.stop()


def test_the_fault_proxy_relays_tls_and_refuses_it_while_the_network_is_down() -> None:
    stack = ServiceStack(settings(), tls=True)
    try:
        stack.start()
        endpoints = stack.endpoints
        assert endpoints.ca_file is not None
        trusting = ssl.create_default_context(cafile=endpoints.ca_file)

        async def ask_through_the_proxy() -> int:
            try:
                async with connect(endpoints.gateway_url, ssl=trusting, open_timeout=5):
                    return 101
            except InvalidStatus as answer:
                return answer.response.status_code

        # TLS made it through the proxy: the gateway itself answered (401, as no token was presented).
        assert asyncio.run(ask_through_the_proxy()) == 401
        assert stack.gateway_journal.count("tls handshake") == 1
        stack.proxy.down()
        with pytest.raises(OSError):
            asyncio.run(ask_through_the_proxy())
        assert stack.gateway_journal.count("tls handshake") == 1
    finally:
        stack.stop()


def test_the_impostor_certificate_lasts_until_the_next_reset() -> None:
    stack = ServiceStack(settings(), tls=True)
    try:
        stack.start()
        stack.gateway.show_untrusted_certificate()
        with pytest.raises(ssl.SSLCertVerificationError):
            stack.gateway.probe(token=None)
        stack.reset(seed=2)
        assert stack.gateway.probe(token=None) == 401
    finally:
        stack.stop()


def test_a_stack_in_the_clear_cannot_show_an_impostor_certificate() -> None:
    stack = ServiceStack(settings(), tls=False)
    try:
        stack.start()
        assert stack.endpoints.ca_file is None
        with pytest.raises(RuntimeError, match="not running over TLS"):
            stack.gateway.show_untrusted_certificate()
    finally:
        stack.stop()
