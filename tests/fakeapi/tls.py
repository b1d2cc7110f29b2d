"""A throwaway self-signed serving certificate for https://127.0.0.1, made with the openssl CLI."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Tuple


def self_signed_certificate(directory: Path) -> Tuple[Path, Path]:
    """(certificate, key) in PEM; the certificate is also the CA clients should trust."""
    cert, key = directory / "apiserver.crt", directory / "apiserver.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=fake-kube-apiserver",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-addext", "extendedKeyUsage=serverAuth"],
        check=True, capture_output=True)
    return cert, key
