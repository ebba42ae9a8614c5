//! TLS for STARTTLS: the configured certificate, or a self-signed one made on first start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write the generated certificate to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("certificate and key do not work together: {0}")]
    Config(#[from] rustls::Error),
}

/// Paths of the certificate in use (the generated one lives in `<data>/tls/`).
pub fn generated_paths(data: &Path) -> (PathBuf, PathBuf) {
    let dir = data.join("tls");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// Loads the configured certificate, or generates a self-signed one for `names` once.
pub fn acceptor(
    configured: Option<(&Path, &Path)>,
    data: &Path,
    names: &[String],
) -> Result<TlsAcceptor, TlsError> {
    let (cert, key) = match configured {
        Some((c, k)) => (c.to_path_buf(), k.to_path_buf()),
        None => {
            let (c, k) = generated_paths(data);
            if !c.exists() || !k.exists() {
                generate(&c, &k, names)?;
                tracing::info!(
                    "generated a self-signed certificate for {} at {}",
                    names.join(", "),
                    c.display()
                );
            }
            (c, k)
        }
    };
    let read_err = |path: &Path, e: &dyn std::fmt::Display| TlsError::Read {
        path: path.into(),
        reason: e.to_string(),
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .map_err(|e| read_err(&cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| read_err(&cert, &e))?;
    let key_der = PrivateKeyDer::from_pem_file(&key).map_err(|e| read_err(&key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn generate(cert: &Path, key: &Path, names: &[String]) -> Result<(), TlsError> {
    let certified = rcgen::generate_simple_self_signed(names.to_vec())?;
    let dir = cert.parent().expect("path has a parent");
    let write = |path: &Path, text: String| {
        std::fs::create_dir_all(dir)
            .and_then(|_| std::fs::write(path, text))
            .map_err(|source| TlsError::Write {
                path: path.into(),
                source,
            })
    };
    write(key, certified.signing_key.serialize_pem())?;
    restrict(key);
    write(cert, certified.cert.pem())
}

#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict(_: &Path) {}
