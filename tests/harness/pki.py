"""Test certificates: a CA, server certificates (valid or expired), a token-signing cert."""
from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from typing import Sequence, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key, path: str) -> None:
    with open(path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def _write_cert(cert: x509.Certificate, path: str) -> None:
    with open(path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    entries = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


@dataclass
class Pki:
    """A throwaway CA in `directory`, able to issue server certificates."""

    directory: str
    ca_file: str
    _ca_key: object
    _ca_cert: x509.Certificate

    @classmethod
    def create(cls, directory: str) -> "Pki":
        os.makedirs(directory, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        name = _name("pullcheck-test-ca")
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                             crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        ca_file = os.path.join(directory, "ca.crt")
        _write_cert(cert, ca_file)
        return cls(directory=directory, ca_file=ca_file, _ca_key=key, _ca_cert=cert)

    def server_cert(self, label: str, names: Sequence[str] = ("localhost", "127.0.0.1"),
                    expired: bool = False) -> Tuple[str, str]:
        """(cert path, key path) for a server certificate naming `names`, signed by the CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        start, end = ((now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)) if expired
                      else (now - datetime.timedelta(days=1), now + datetime.timedelta(days=365)))
        cert = (x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(self._ca_cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(end)
                .add_extension(_san(names), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._ca_key.public_key()),
                               critical=False)
                .sign(self._ca_key, hashes.SHA256()))
        cert_path = os.path.join(self.directory, f"{label}.crt")
        key_path = os.path.join(self.directory, f"{label}.key")
        _write_cert(cert, cert_path)
        _write_key(key, key_path)
        return cert_path, key_path


def token_signer(directory: str) -> Tuple[str, str]:
    """(cert path, key path) of a self-signed RSA certificate for signing registry tokens (RS256)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name("token-signer")).issuer_name(_name("token-signer"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(directory, "token.crt"), os.path.join(directory, "token.key")
    _write_cert(cert, cert_path)
    _write_key(key, key_path)
    return cert_path, key_path
