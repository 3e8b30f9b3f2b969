"""The certificate that signs Atelier's C2PA manifests, the roots a check trusts, and the c2pa contexts made of them.

Production names a certificate chain and its private key (ATELIER_C2PA_CERT_PATH, ATELIER_C2PA_KEY_PATH) and the
roots that checks trust (ATELIER_C2PA_TRUST_ANCHORS_PATH). Without a certificate, a development CA and a signing
certificate it issued are made on first use under ATELIER_C2PA_DEV_DIR (VAR_DIR/c2pa), shared by every process on
the machine; that CA is then the trust anchor, so the platform's own manifests read back as trusted and nobody
else's do. The development CA says so in its name: a manifest signed with it proves nothing outside this machine.
"""

import datetime
import fcntl
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import c2pa
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning, one of the EKUs C2PA accepts
DEV_ORGANIZATION = "Atelier development (not for production)"
DEV_ROOT_NAME = "Atelier Development Root CA"
DEV_SIGNER_NAME = "Atelier Development Signer"
DEV_ROOT_DAYS = 3650
DEV_SIGNER_DAYS = 397
DEV_SIGNER_RENEW_DAYS = 30  # a signing certificate this close to expiry is reissued on the next start
_EC_ALGORITHMS = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}


@dataclass(frozen=True)
class SigningCredentials:
    chain_pem: bytes  # the signing certificate first, then any intermediates (never the root)
    key_pem: bytes
    algorithm: str  # c2pa's name for it: es256, es384, es512, ps256, ed25519
    trust_anchors_pem: str  # the roots a check trusts, PEM; empty trusts nobody
    signer_serial: str  # decimal, as c2pa reports `cert_serial_number`
    signer_name: str  # the signing certificate's common name
    signer_issuer: str  # its issuer's organisation, as c2pa reports `issuer`
    development: bool
    tsa_url: str | None

    @property
    def signer(self) -> str:
        return f"{self.signer_name} (issued by {self.signer_issuer})"


# --- development CA -----------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, signer: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signer, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=not signer, crl_sign=not signer, encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _make_root() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(DEV_ROOT_NAME))
        .issuer_name(_name(DEV_ROOT_NAME))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=DEV_ROOT_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signer=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def _make_signer(root: x509.Certificate, root_key) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """An end-entity certificate as C2PA requires one: v3, critical key usage with digitalSignature, an EKU
    (emailProtection and documentSigning, never anyExtendedKeyUsage), not a CA, issued by the root."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(DEV_SIGNER_NAME))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + datetime.timedelta(days=DEV_SIGNER_DAYS), root.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signer=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return certificate, key


def _write(path: Path, data: bytes, *, secret: bool) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)  # readers see the old file or the new one, never half of one


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    encoding, private_format = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    return key.private_bytes(encoding, private_format, serialization.NoEncryption())


def development_credentials(directory: Path) -> tuple[bytes, bytes, bytes]:
    """(signing certificate PEM, its key PEM, root CA PEM) under `directory`, made on first use. A file lock makes
    concurrent first runs (web server and workers) agree on one CA."""
    directory.mkdir(parents=True, exist_ok=True)
    root_path, root_key_path = directory / "dev-root-ca.pem", directory / "dev-root-ca.key"
    signer_path, signer_key_path = directory / "dev-signer.pem", directory / "dev-signer.key"
    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if root_path.exists() and root_key_path.exists():
            root = x509.load_pem_x509_certificate(root_path.read_bytes())
            root_key = serialization.load_pem_private_key(root_key_path.read_bytes(), password=None)
        else:
            root, root_key = _make_root()
            _write(root_key_path, _key_pem(root_key), secret=True)
            _write(root_path, _pem(root), secret=False)
            logger.info("made a development C2PA root CA in %s", directory)
        signer = x509.load_pem_x509_certificate(signer_path.read_bytes()) if signer_path.exists() else None
        renew_at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=DEV_SIGNER_RENEW_DAYS)
        if (
            signer is None
            or not signer_key_path.exists()
            or signer.issuer != root.subject
            or signer.not_valid_after_utc < renew_at
            or not _issued_by(signer, root)
        ):
            signer, signer_key = _make_signer(root, root_key)
            _write(signer_key_path, _key_pem(signer_key), secret=True)
            _write(signer_path, _pem(signer), secret=False)
            logger.info("made a development C2PA signing certificate in %s", directory)
        return signer_path.read_bytes(), signer_key_path.read_bytes(), root_path.read_bytes()


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):  # not its signature, or not its kind of key
        return False
    return True


# --- loading ------------------------------------------------------------------------------------


def _algorithm(key_pem: bytes) -> str:
    key = serialization.load_pem_private_key(key_pem, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _EC_ALGORITHMS:
        return _EC_ALGORITHMS[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise ImproperlyConfigured("The C2PA key must be EC (P-256, P-384, P-521), RSA or Ed25519.")


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise ImproperlyConfigured(f"Cannot read the C2PA {what} at {path}: {error}") from error


def load_credentials() -> SigningCredentials:
    cert_path, key_path = settings.ATELIER_C2PA_CERT_PATH, settings.ATELIER_C2PA_KEY_PATH
    anchors_path = settings.ATELIER_C2PA_TRUST_ANCHORS_PATH
    if bool(cert_path) != bool(key_path):
        raise ImproperlyConfigured("Set both ATELIER_C2PA_CERT_PATH and ATELIER_C2PA_KEY_PATH, or neither.")
    development = not cert_path
    if development:
        chain_pem, key_pem, root_pem = development_credentials(Path(settings.ATELIER_C2PA_DEV_DIR))
        anchors = _read(anchors_path, "trust anchors").decode() if anchors_path else root_pem.decode()
        if not settings.DEBUG:
            logger.warning(
                "C2PA manifests are signed with the development CA in %s; set ATELIER_C2PA_CERT_PATH and "
                "ATELIER_C2PA_KEY_PATH to the platform's certificate in production.",
                settings.ATELIER_C2PA_DEV_DIR,
            )
    else:
        chain_pem, key_pem = _read(cert_path, "certificate"), _read(key_path, "key")
        anchors = _read(anchors_path, "trust anchors").decode() if anchors_path else ""
    signing_certificate = x509.load_pem_x509_certificate(chain_pem)  # the first one in the file
    issuer_organisation = signing_certificate.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    common_name = signing_certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return SigningCredentials(
        chain_pem=chain_pem,
        key_pem=key_pem,
        algorithm=_algorithm(key_pem),
        trust_anchors_pem=anchors,
        signer_serial=str(signing_certificate.serial_number),
        signer_name=str(common_name[0].value) if common_name else signing_certificate.subject.rfc4514_string(),
        signer_issuer=str(issuer_organisation[0].value) if issuer_organisation else "",
        development=development,
        tsa_url=settings.ATELIER_C2PA_TSA_URL or None,
    )


# --- contexts, one set per process --------------------------------------------------------------

_lock = threading.Lock()
_cache: dict[tuple, tuple[SigningCredentials, c2pa.Context, c2pa.Context]] = {}


def _cache_key() -> tuple:
    # Per process: a c2pa context made before a fork is not valid in the child (Celery's prefork pool).
    return (
        os.getpid(), settings.ATELIER_C2PA_CERT_PATH, settings.ATELIER_C2PA_KEY_PATH,
        settings.ATELIER_C2PA_TRUST_ANCHORS_PATH, settings.ATELIER_C2PA_TSA_URL, str(settings.ATELIER_C2PA_DEV_DIR),
    )  # fmt: skip


def _reading_settings(anchors_pem: str) -> dict:
    # No network while reading: a remote manifest or OCSP answer is never fetched for a check.
    verify = {"verify_trust": True, "remote_manifest_fetch": False, "ocsp_fetch": False}
    return {"verify": verify, "trust": {"trust_anchors": anchors_pem}} if anchors_pem else {"verify": verify}


# Atelier serves its own thumbnails, so the manifest carries none (it would cost time and bytes on every image);
# checks verify what was signed, so signing does not verify its own output a second time.
SIGNING_SETTINGS = {
    "builder": {"thumbnail": {"enabled": False}},
    "verify": {"verify_after_sign": False, "remote_manifest_fetch": False, "ocsp_fetch": False},
}


def _contexts() -> tuple[SigningCredentials, c2pa.Context, c2pa.Context]:
    key = _cache_key()
    cached = _cache.get(key)
    if cached is not None:
        return cached
    with _lock:
        if key not in _cache:
            credentials = load_credentials()
            signer = c2pa.Signer.from_info(
                c2pa.C2paSignerInfo(credentials.algorithm, credentials.chain_pem, credentials.key_pem,
                                    credentials.tsa_url)
            )  # fmt: skip
            signing = c2pa.Context.from_dict(SIGNING_SETTINGS, signer=signer)
            reading = c2pa.Context.from_dict(_reading_settings(credentials.trust_anchors_pem))
            _cache.clear()  # contexts of another process or of earlier settings are of no further use
            _cache[key] = (credentials, signing, reading)
        return _cache[key]


def signing_credentials() -> SigningCredentials:
    return _contexts()[0]


def signing_context() -> c2pa.Context:
    return _contexts()[1]


def reading_context() -> c2pa.Context:
    return _contexts()[2]
