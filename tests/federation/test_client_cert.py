"""A peer that demands a client certificate (mutual TLS): a small TAXII server of another
make on loopback, behind an SSL context with CERT_REQUIRED and a throw-away CA. A pull with
the registered certificate gets through; one without it fails, logged for that peer only."""

from __future__ import annotations

import ipaddress
import logging
import ssl
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.federation.conftest import FAST, Exchange, admin_call, exchange, room, served, until
from tests.helpers import TLP_GREEN, indicator

_NOW = datetime.now(UTC)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _issue(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str,
           issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool = False,
           usage: x509.ObjectIdentifier | None = None) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(_NOW - timedelta(minutes=5)).not_valid_after(_NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
        .add_extension(x509.KeyUsage(
            digital_signature=not ca, key_cert_sign=ca, crl_sign=ca, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None,
           key_path: Path | None = None) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None and key_path is not None:
        key_path.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """A throw-away CA, a server certificate for 127.0.0.1 and a client certificate."""
    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _issue("Accord test CA", ca_key, "Accord test CA", ca_key, ca=True)
    server = _issue("localhost", server_key, "Accord test CA", ca_key,
                    usage=ExtendedKeyUsageOID.SERVER_AUTH)
    client = _issue("isac-exchange", client_key, "Accord test CA", ca_key,
                    usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    pki = Pki(tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key",
              tmp_path / "client.pem", tmp_path / "client.key")
    _write(pki.ca, ca)
    _write(pki.server_cert, server, server_key, pki.server_key)
    _write(pki.client_cert, client, client_key, pki.client_key)
    return pki


class Remote:
    """One collection of GREEN indicators; records the subject of every client certificate
    it was shown (the TLS layer refuses a connection without one before any request)."""

    def __init__(self) -> None:
        self.objects = [indicator(f"10.88.0.{i}", object_marking_refs=[TLP_GREEN])
                        for i in range(3)]
        self.clients: list[str] = []

    async def objects_view(self, request: web.Request) -> web.Response:
        cert = request.transport.get_extra_info("peercert") if request.transport else None
        subject = dict(part[0] for part in cert["subject"]) if cert else {}
        self.clients.append(subject.get("commonName", "?"))
        stamp = "2026-01-01T00:00:00.000000Z"
        return web.Response(body=orjson.dumps({"more": False, "objects": self.objects}),
                            content_type="application/taxii+json",
                            headers={"X-TAXII-Date-Added-Last": stamp})


@pytest.fixture
async def remote(pki: Pki) -> AsyncIterator[tuple[Remote, str]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(pki.server_cert, pki.server_key)
    fake = Remote()
    app = web.Application()
    app.router.add_get("/root/collections/{collection}/objects/", fake.objects_view)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=context)
    yield fake, str(server.make_url("/root/"))
    await server.close()


@pytest.fixture
async def local(admin_dsn: str, pki: Pki) -> AsyncIterator[Exchange]:
    """An exchange that trusts the test CA for its peers' certificates (the documented
    ACCORD_FEDERATION_CA_FILE), verification on."""
    settings = FAST.model_copy(update={"federation_ca_file": pki.ca})
    async with exchange(admin_dsn, "mtls", settings) as ex:
        yield ex


async def test_a_pull_needs_the_client_certificate_the_peer_demands(http, local, remote, pki,
                                                                     caplog):
    fake, api_root = remote
    assert api_root.startswith("https://127.0.0.1:")
    with_cert, without = (f"{label}-{uuid.uuid4().hex[:6]}" for label in ("mtls", "nocert"))
    await admin_call(http, local, "POST", "/peers", {
        "name": with_cert, "url": api_root, "key": "k", "client_cert": str(pki.client_cert),
        "client_key": str(pki.client_key)}, 201)
    await admin_call(http, local, "POST", "/peers", {"name": without, "url": api_root,
                                                     "key": "k"}, 201)
    rooms = {name: await room(local, name) for name in (with_cert, without)}
    for name, r in rooms.items():
        await admin_call(http, local, "POST", f"/peers/{name}/pulls", {
            "remote_collection": "intel", "into": str(r.collection_id)}, 201)
    want = {o["id"] for o in fake.objects}

    async def pulled():
        objects = await served(http, local, rooms[with_cert])
        return objects if {o["id"] for o in objects} == want else None

    async def refused():
        detail = await admin_call(http, local, "GET", f"/peers/{without}")
        return detail["pulls"][0] if detail["pulls"][0]["failures"] else None

    with caplog.at_level(logging.WARNING, logger="accord.federation"):
        await until(pulled, "the pull that shows its client certificate")
        failing = await until(refused, "a failed pull without the certificate")
    assert fake.clients and set(fake.clients) == {"isac-exchange"}  # only ever with the cert
    # Failed at the TLS layer; recorded for that peer's agreement, the other unaffected.
    # (TLS 1.3: the server's refusal comes after the client's handshake, as a disconnect.)
    error = failing["last_error"] or ""
    assert any(word in error for word in ("SSL", "certificate", "disconnected")), error
    assert await served(http, local, rooms[without]) == []
    mine = (await admin_call(http, local, "GET", f"/peers/{with_cert}"))["pulls"][0]
    assert mine["failures"] == 0 and mine["objects_in"] == len(want)
    logged = [r for r in caplog.records if r.getMessage() == "peer pull failed"]
    assert logged and {r.fields["peer"] for r in logged} == {without}
