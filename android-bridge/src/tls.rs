//! How the engine trusts a server, for XMPP STARTTLS and HTTPS alike.
//!
//! Lectern's embedded server makes a self-signed certificate on first start, which no root
//! store knows; an app pins it (its sha256, shown by the operator) instead. Accepting any
//! certificate exists only for development and says so in its name.

use std::sync::Arc;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    ring, verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio_rustls::TlsConnector;

use crate::error::BridgeError;

/// How to secure connections to the server.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum TlsMode {
    /// TLS, accepting only the certificate whose DER encoding has this sha256 (hex).
    PinnedCertificate {
        /// sha256 of the server certificate's DER bytes, 64 hex digits.
        sha256_hex: String,
    },
    /// TLS, accepting any certificate: for development against a local server only.
    InsecureAcceptAnyCertificate,
    /// No TLS at all: for development over loopback only.
    InsecurePlainTcp,
}

impl TlsMode {
    /// Whether connections use TLS at all.
    pub fn uses_tls(&self) -> bool {
        !matches!(self, TlsMode::InsecurePlainTcp)
    }

    /// The rustls connector for this mode (`None` for plain TCP).
    pub(crate) fn connector(&self) -> Result<Option<TlsConnector>, BridgeError> {
        let pin = match self {
            TlsMode::InsecurePlainTcp => return Ok(None),
            TlsMode::InsecureAcceptAnyCertificate => None,
            TlsMode::PinnedCertificate { sha256_hex } => Some(parse_pin(sha256_hex)?),
        };
        let provider = Arc::new(ring::default_provider());
        let verifier = Verifier {
            pin,
            algorithms: provider.signature_verification_algorithms,
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| BridgeError::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(Some(TlsConnector::from(Arc::new(config))))
    }
}

/// Runs the TLS handshake over an established stream.
pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    connector: &TlsConnector,
    host: &str,
    stream: S,
) -> Result<TlsStream<S>, BridgeError> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| BridgeError::Tls(format!("{host}: {e}")))?;
    connector
        .connect(name, stream)
        .await
        .map_err(|e| BridgeError::Tls(e.to_string()))
}

fn parse_pin(hex: &str) -> Result<[u8; 32], BridgeError> {
    let bad = || BridgeError::Config(format!("certificate pin {hex:?} is not 64 hex digits"));
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut pin = [0u8; 32];
    for (i, byte) in pin.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(pin)
}

/// The pin (sha256 hex of the DER bytes) of the first certificate in a PEM text, e.g. the
/// embedded server's `<data>/tls/` certificate.
#[uniffi::export]
pub fn certificate_pin_from_pem(pem: String) -> Result<String, BridgeError> {
    let begin = "-----BEGIN CERTIFICATE-----";
    let start = pem
        .find(begin)
        .ok_or_else(|| BridgeError::Config("no certificate in the PEM text".into()))?
        + begin.len();
    let end = pem[start..]
        .find("-----END CERTIFICATE-----")
        .ok_or_else(|| BridgeError::Config("unterminated certificate".into()))?;
    let b64: String = pem[start..start + end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| BridgeError::Config(format!("certificate base64: {e}")))?;
    Ok(hex(&Sha256::digest(der)))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug)]
struct Verifier {
    /// `None`: any certificate (development only).
    pin: Option<[u8; 32]>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.pin {
            None => Ok(ServerCertVerified::assertion()),
            Some(pin) if Sha256::digest(end_entity.as_ref()).as_slice() == pin => {
                Ok(ServerCertVerified::assertion())
            }
            Some(_) => Err(rustls::Error::General(
                "the server certificate does not match the pinned sha256".into(),
            )),
        }
    }

    // The handshake signatures are still checked, so a pinned certificate proves the peer
    // holds its key.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
