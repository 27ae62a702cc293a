"""Whom an OPC UA connection trusts: the server's pinned certificate, or the first one it shows.

asyncua encrypts the secure channel and the user's password to whatever server certificate it
is given; when given none it takes the one the server offers, which trusts any impostor. So the
certificate the server offers on the (unsecured) discovery channel is checked against the pin
before any secured message is sent: a mismatch is refused with both fingerprints, not left to
time out. With trust on first use the first certificate seen is stored and is the pin from then
on. asyncua's own failures of the secured handshake are turned into errors that say what failed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from asyncua.client.client import Client
from asyncua.ua.status_codes import get_name_and_doc
from asyncua.ua.uaerrors import UaError, UaStatusCodeError
from asyncua.ua.uaprotocol_auto import MessageSecurityMode
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from drivers.errors import RetryableIOError

logger = logging.getLogger("drivers.opcua")

# Status codes with which a server refuses the client's certificate (OPC UA Part 4, 7.34).
CLIENT_CERTIFICATE_REFUSALS = {
    "BadCertificateInvalid",
    "BadCertificateUntrusted",
    "BadCertificateTimeInvalid",
    "BadCertificateIssuerTimeInvalid",
    "BadCertificateHostNameInvalid",
    "BadCertificateUriInvalid",
    "BadCertificateUseNotAllowed",
    "BadCertificateIssuerUseNotAllowed",
    "BadCertificateRevocationUnknown",
    "BadCertificateIssuerRevocationUnknown",
    "BadCertificateRevoked",
    "BadCertificateIssuerRevoked",
    "BadSecurityChecksFailed",
}
USER_REFUSALS = {
    "BadIdentityTokenRejected",
    "BadIdentityTokenInvalid",
    "BadUserAccessDenied",
}


class CertificateRefused(RetryableIOError):
    """The server's certificate is not the trusted one, or a certificate was refused.

    Retried with back-off like a lost connection: an impostor may go away, and a renewed server
    certificate needs the operator to pin it anew."""


def fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate as colon-separated hex, as `openssl x509 -fingerprint`."""
    digest = x509.load_der_x509_certificate(der).fingerprint(hashes.SHA256())
    return "SHA-256 " + digest.hex(":").upper()


def read_certificate(path: Path) -> bytes:
    """A certificate file (DER or PEM) as DER."""
    content = path.read_bytes()
    if content.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(content).public_bytes(Encoding.DER)
    return x509.load_der_x509_certificate(content).public_bytes(Encoding.DER)


async def offered_certificate(client: Client, mode: MessageSecurityMode, policy_uri: str) -> bytes:
    """The certificate the server offers for the endpoint with this policy and mode (DER), as
    it says on the unsecured discovery channel that every OPC UA server keeps open for this."""
    endpoints = await client.connect_and_get_server_endpoints()
    matching = [
        endpoint
        for endpoint in endpoints
        if endpoint.SecurityMode == mode and endpoint.SecurityPolicyUri == policy_uri
    ]
    if not matching:
        offered = sorted(
            {f"{e.SecurityPolicyUri.rpartition('#')[2]} {e.SecurityMode.name}" for e in endpoints}
        )
        raise CertificateRefused(
            f"the server offers no {policy_uri.rpartition('#')[2]} {mode.name} endpoint "
            f"(it offers: {', '.join(offered) or 'none'})"
        )
    chain = matching[0].ServerCertificate
    if not chain:
        raise CertificateRefused("the server's secured endpoint carries no certificate")
    try:
        return first_certificate(chain)
    except ValueError as exc:
        raise CertificateRefused(f"the server's certificate cannot be read: {exc}") from exc


def first_certificate(chain: bytes) -> bytes:
    """The leading certificate of a DER chain (servers may append their issuers): its length
    is in the outer SEQUENCE header."""
    if len(chain) < 2 or chain[0] != 0x30:
        raise ValueError("not a DER certificate")
    if chain[1] < 0x80:
        length, header = chain[1], 2
    else:
        size = chain[1] & 0x7F
        length, header = int.from_bytes(chain[2 : 2 + size], "big"), 2 + size
    der = chain[: header + length]
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.DER)


def pinned_certificate(
    pinned_file: Path, offered_der: bytes, trust_first: bool, where: str
) -> bytes:
    """The pinned certificate (DER) once the offered one is checked against it; with trust on
    first use and nothing pinned yet, the offered one is stored and becomes the pin."""
    if not pinned_file.exists():
        if not trust_first:
            raise CertificateRefused(
                f"the pinned server certificate {pinned_file} does not exist (export the "
                "server's certificate there, or set 'trust_first_server_certificate = true' "
                "to store the first one the server shows)"
            )
        _store(pinned_file, offered_der)
        logger.warning(
            "%s: trusted the server's certificate on first use (%s), stored at %s and pinned "
            "from now on; compare the fingerprint with the server's",
            where,
            fingerprint(offered_der),
            pinned_file,
        )
        return offered_der
    try:
        pinned_der = read_certificate(pinned_file)
    except ValueError as exc:
        raise CertificateRefused(
            f"the pinned server certificate {pinned_file} is not a DER or PEM certificate: {exc}"
        ) from exc
    if pinned_der != offered_der:
        raise CertificateRefused(
            f"the server's certificate ({fingerprint(offered_der)}) does not match the pinned "
            f"one in {pinned_file} ({fingerprint(pinned_der)}); refused before sending anything "
            "secured. If the server's certificate was renewed on purpose, replace the pinned file"
        )
    return pinned_der


def _store(path: Path, der: bytes) -> None:
    """Write the certificate whole or not at all: a torn pin would refuse the real server."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_bytes(der)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CertificateRefused(
            f"cannot store the server's certificate at {path} for trust on first use: {exc}"
        ) from exc


def explain_secured_failure(
    exc: OSError | TimeoutError | UaError | ValueError,
    timeout_s: float,
    pinned_der: bytes,
    client_certificate: Path,
    username: str | None,
) -> str:
    """What a failed secured connect means, in words, for the errors asyncua leaves bare."""
    if isinstance(exc, TimeoutError):
        return (
            f"no answer to the secured handshake within {timeout_s:g} s: the server does not "
            f"hold the private key of the pinned certificate ({fingerprint(pinned_der)}), so it "
            "cannot decrypt what is sent to it, or it dropped the request"
        )
    if isinstance(exc, UaStatusCodeError):
        name, doc = get_name_and_doc(exc.code)
        if name in CLIENT_CERTIFICATE_REFUSALS:
            client_der = read_certificate(client_certificate)
            return (
                f"the server refused this controller's certificate {client_certificate} "
                f"({fingerprint(client_der)}): {name}; add it to the server's trusted clients"
            )
        if name in USER_REFUSALS:
            return f"the server refused user '{username}': {name}; check the password file"
        return f"the server answered {name}: {doc}"
    return repr(exc)
