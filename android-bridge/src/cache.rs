//! The page cache on disk, content-addressed by each page's sha256 (the hash the document
//! event carries), and the LAN pre-distribution package that fills it in one request.
//!
//! Every read re-hashes the file: a cached page that was corrupted on disk is detected,
//! removed and fetched again, so the app never shows bytes the presenter did not share.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::BridgeError;
use crate::http::Http;
use crate::tls::hex;

/// Page images on disk: `<dir>/pages/<sha256>.png`.
#[derive(Debug)]
pub struct PageCache {
    dir: PathBuf,
    corrupt: AtomicU64,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

impl PageCache {
    /// A cache under `dir` (created if missing).
    pub fn new(dir: &Path) -> Result<Self, BridgeError> {
        fs::create_dir_all(dir.join("pages"))?;
        Ok(PageCache {
            dir: dir.to_path_buf(),
            corrupt: AtomicU64::new(0),
        })
    }

    /// Where the page with this hash lives (whether or not it is there).
    pub fn path_for(&self, hash: &str) -> PathBuf {
        self.dir.join("pages").join(format!("{hash}.png"))
    }

    /// Cached pages found corrupted (and removed) so far.
    pub fn corrupt_count(&self) -> u64 {
        self.corrupt.load(Ordering::Relaxed)
    }

    /// The cached page's path if it is present and its bytes still hash to `hash`; a
    /// corrupted file is removed.
    pub fn verified(&self, hash: &str) -> Result<Option<PathBuf>, BridgeError> {
        let path = self.path_for(hash);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if sha256_hex(&bytes) == hash {
            return Ok(Some(path));
        }
        tracing::warn!(%hash, "cached page corrupted; removing it");
        self.corrupt.fetch_add(1, Ordering::Relaxed);
        fs::remove_file(&path)?;
        Ok(None)
    }

    /// Stores page bytes after checking they hash to `hash` (write, then rename, so a
    /// reader never sees half a file).
    pub fn store(&self, hash: &str, bytes: &[u8]) -> Result<PathBuf, BridgeError> {
        let got = sha256_hex(bytes);
        if got != hash {
            return Err(BridgeError::Integrity(format!(
                "page bytes hash to {got}, expected {hash}"
            )));
        }
        let path = self.path_for(hash);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        fs::write(&tmp, bytes)?;
        fs::rename(&tmp, &path)?;
        Ok(path)
    }

    /// The page `n` of the document at `base` with hash `hash`: from the cache when it
    /// verifies, else downloaded (`{base}pages/{n}.png`), verified and stored.
    pub(crate) async fn fetch(
        &self,
        http: &Http,
        base: &str,
        n: u32,
        hash: &str,
    ) -> Result<PathBuf, BridgeError> {
        if let Some(path) = self.verified(hash)? {
            return Ok(path);
        }
        let response = http.get(&format!("{base}pages/{n}.png")).await?;
        if response.status != 200 {
            return Err(BridgeError::Http(format!(
                "page {n}: status {}",
                response.status
            )));
        }
        self.store(hash, &response.body)
    }

    /// Fetches the whole-document package at `url`, checks every page against `hashes`
    /// (the document event's, page 1 first) and stores them. Returns the pages stored.
    pub(crate) async fn preload(
        &self,
        http: &Http,
        url: &str,
        hashes: &[String],
    ) -> Result<u32, BridgeError> {
        let response = http.get(url).await?;
        if response.status != 200 {
            return Err(BridgeError::Http(format!(
                "package: status {}",
                response.status
            )));
        }
        self.install_package(&response.body, hashes)
    }

    /// Unpacks a package (ustar with `manifest.json` and `pages/{n}.png`) into the cache.
    pub fn install_package(&self, tar: &[u8], hashes: &[String]) -> Result<u32, BridgeError> {
        let members = untar(tar)?;
        let manifest = members
            .iter()
            .find(|(name, _)| name == "manifest.json")
            .ok_or_else(|| BridgeError::Integrity("package without manifest.json".into()))?;
        let manifest: Manifest = serde_json::from_slice(&manifest.1)
            .map_err(|e| BridgeError::Integrity(format!("manifest.json: {e}")))?;
        if manifest.pages.len() != hashes.len() {
            return Err(BridgeError::Integrity(format!(
                "package has {} pages, the document {}",
                manifest.pages.len(),
                hashes.len()
            )));
        }
        let mut stored = 0;
        for (i, (page, want)) in manifest.pages.iter().zip(hashes).enumerate() {
            if page.sha256.as_ref() != Some(want) {
                return Err(BridgeError::Integrity(format!(
                    "manifest page {} hash differs from the shared document's",
                    i + 1
                )));
            }
            let name = format!("pages/{}.png", i + 1);
            let bytes = members
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| BridgeError::Integrity(format!("package lacks {name}")))?;
            self.store(want, &bytes.1)?;
            stored += 1;
        }
        Ok(stored)
    }
}

#[derive(Deserialize)]
struct Manifest {
    pages: Vec<ManifestPage>,
}

#[derive(Deserialize)]
struct ManifestPage {
    sha256: Option<String>,
}

/// The regular files of an uncompressed POSIX tar: (name, bytes), in order.
pub fn untar(tar: &[u8]) -> Result<Vec<(String, Vec<u8>)>, BridgeError> {
    let bad = |why: &str| BridgeError::Integrity(format!("package: {why}"));
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() {
        let h = &tar[at..at + 512];
        if h.iter().all(|&b| b == 0) {
            return Ok(out);
        }
        let field = |a: usize, b: usize| -> String {
            String::from_utf8_lossy(&h[a..b])
                .trim_matches(|c| c == '\0' || c == ' ')
                .to_string()
        };
        let sum: u32 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    b as u32
                }
            })
            .sum();
        if u32::from_str_radix(&field(148, 156), 8).ok() != Some(sum) {
            return Err(bad("header checksum"));
        }
        let mut name = field(0, 100);
        let prefix = field(345, 500);
        if !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
        let size = usize::from_str_radix(&field(124, 136), 8).map_err(|_| bad("size"))?;
        at += 512;
        let body = tar.get(at..at + size).ok_or_else(|| bad("truncated"))?;
        if matches!(h[156], b'0' | 0) {
            out.push((name, body.to_vec()));
        }
        at += size.div_ceil(512) * 512;
    }
    Err(bad("no end marker"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupted_page_is_detected_and_removed() {
        let dir = std::env::temp_dir().join(format!("ab-cache-{}", std::process::id()));
        let cache = PageCache::new(&dir).unwrap();
        let hash = sha256_hex(b"page one");
        assert!(cache.store(&hash, b"page two").is_err());
        let path = cache.store(&hash, b"page one").unwrap();
        assert_eq!(cache.verified(&hash).unwrap(), Some(path.clone()));
        fs::write(&path, b"page 0ne").unwrap();
        assert_eq!(cache.verified(&hash).unwrap(), None);
        assert!(!path.exists());
        assert_eq!(cache.corrupt_count(), 1);
        fs::remove_dir_all(dir).unwrap();
    }
}
