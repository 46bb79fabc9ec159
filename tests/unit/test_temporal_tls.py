"""The COMPLAINTS_TEMPORAL_TLS_* settings: what the client connects with, and the start-up error
that names the setting when they cannot be used."""

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from engine.settings import Settings
from engine.temporal_tls import TemporalTLSError, tls_config


@pytest.fixture
def pem_files(tmp_path):
    """A real key and self-signed certificate, as an operator's PKI would issue them."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "complaints-worker")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    files = {
        "cert": cert.public_bytes(serialization.Encoding.PEM),
        "key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    }
    files["ca"] = files["cert"]
    paths = {}
    for kind, content in files.items():
        paths[kind] = tmp_path / f"{kind}.pem"
        paths[kind].write_bytes(content)
    return paths


def test_without_any_tls_setting_the_client_speaks_plain_grpc():
    assert tls_config(Settings()) is False


def test_mutual_tls_reads_the_certificate_key_and_ca(monkeypatch, pem_files):
    monkeypatch.setenv("COMPLAINTS_TEMPORAL_TLS_CERT", str(pem_files["cert"]))
    monkeypatch.setenv("COMPLAINTS_TEMPORAL_TLS_KEY", str(pem_files["key"]))
    monkeypatch.setenv("COMPLAINTS_TEMPORAL_TLS_CA", str(pem_files["ca"]))
    monkeypatch.setenv("COMPLAINTS_TEMPORAL_TLS_SERVER_NAME", "temporal.internal")
    config = tls_config(Settings())
    assert config.client_cert == pem_files["cert"].read_bytes()
    assert config.client_private_key == pem_files["key"].read_bytes()
    assert config.server_root_ca_cert == pem_files["ca"].read_bytes()
    assert config.domain == "temporal.internal"


def test_a_ca_alone_is_server_tls_without_a_client_certificate(pem_files):
    config = tls_config(Settings(temporal_tls_ca=pem_files["ca"]))
    assert config.server_root_ca_cert == pem_files["ca"].read_bytes()
    assert config.client_cert is None and config.client_private_key is None and not config.domain


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"temporal_tls_cert": "cert"}, "COMPLAINTS_TEMPORAL_TLS_KEY: not set"),
        ({"temporal_tls_key": "key"}, "COMPLAINTS_TEMPORAL_TLS_CERT: not set"),
        ({"temporal_tls_ca": "missing"}, "COMPLAINTS_TEMPORAL_TLS_CA: cannot read .*missing"),
        (
            {"temporal_tls_cert": "cert", "temporal_tls_key": "not-pem"},
            "COMPLAINTS_TEMPORAL_TLS_KEY: .*not-pem.* is not a PEM file",
        ),
    ],
)
def test_unusable_tls_settings_name_the_setting_and_the_rule(tmp_path, pem_files, given, message):
    (tmp_path / "not-pem").write_bytes(b"secret key material, not PEM")
    paths = {"cert": pem_files["cert"], "key": pem_files["key"]}
    settings = Settings(**{k: paths.get(v, tmp_path / v) for k, v in given.items()})
    with pytest.raises(TemporalTLSError, match=message) as error:
        tls_config(settings)
    assert "secret key material" not in str(error.value)  # never the file's content
