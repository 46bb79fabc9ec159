"""Mutual TLS to the Temporal frontend: the client's certificate and key, and the CA that signed
the server's, read from the COMPLAINTS_TEMPORAL_TLS_* files (README, Securing Temporal).

The payload codec keeps complaint data unreadable on the server; TLS keeps the connection
private, and the client certificate is what lets a frontend configured for mutual TLS refuse
anyone else (who could otherwise start, signal or terminate complaints).
"""

from __future__ import annotations

from pathlib import Path

from temporalio.service import TLSConfig

from engine.settings import Settings

PEM_BEGIN = b"-----BEGIN "


class TemporalTLSError(ValueError):
    """TLS settings that cannot be used; the message names the setting and the rule (never the
    key's content)."""


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The client's TLS configuration; False (plain gRPC) when no TLS setting is set."""
    cert, key = settings.temporal_tls_cert, settings.temporal_tls_key
    ca, server_name = settings.temporal_tls_ca, settings.temporal_tls_server_name
    if not (cert or key or ca or server_name):
        return False
    if bool(cert) != bool(key):
        missing = "COMPLAINTS_TEMPORAL_TLS_KEY" if cert else "COMPLAINTS_TEMPORAL_TLS_CERT"
        raise TemporalTLSError(f"{missing}: not set; a client certificate and its key go together")
    return TLSConfig(
        server_root_ca_cert=_pem(ca, "COMPLAINTS_TEMPORAL_TLS_CA"),
        domain=server_name or None,
        client_cert=_pem(cert, "COMPLAINTS_TEMPORAL_TLS_CERT"),
        client_private_key=_pem(key, "COMPLAINTS_TEMPORAL_TLS_KEY"),
    )


def _pem(path: Path | None, setting: str) -> bytes | None:
    if path is None:
        return None
    try:
        content = path.read_bytes()
    except OSError as err:
        raise TemporalTLSError(f"{setting}: cannot read {path}: {err.strerror}") from None
    if PEM_BEGIN not in content:
        raise TemporalTLSError(f"{setting}: {path} is not a PEM file (no '-----BEGIN' line)")
    return content
