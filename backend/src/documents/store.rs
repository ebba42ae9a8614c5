//! Content-addressed storage: uploads stream into `<root>/.tmp/` while being hashed, and only
//! a complete, validated upload is moved under its id (one `rename`, so a document directory
//! either exists whole or not at all).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::sniff::SNIFF_LEN;
use super::DocError;

pub const ORIGINAL: &str = "original";
pub const MANIFEST: &str = "manifest.json";
/// An office document's PDF, as LibreOffice made it; its pages are rendered from this.
pub const CONVERTED: &str = "converted.pdf";
const TMP: &str = ".tmp";

/// `<data>/documents`.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens the store, removing whatever uploads a previous process left half-written.
    pub fn open(data: &Path) -> std::io::Result<Self> {
        let root = data.join("documents");
        let tmp = root.join(TMP);
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        Ok(Self { root })
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    pub fn exists(&self, id: &str) -> bool {
        self.dir(id).join(ORIGINAL).is_file()
    }

    /// Starts an upload that may grow to `limit` bytes.
    pub fn ingest(&self, limit: u64) -> std::io::Result<Ingest> {
        let path = self
            .root
            .join(TMP)
            .join(format!("upload-{}", random_name()));
        let file = File::create(&path)?;
        Ok(Ingest {
            temp: TempPath(path),
            file,
            hasher: Sha256::new(),
            len: 0,
            limit,
            head: Vec::with_capacity(SNIFF_LEN),
        })
    }

    /// A private directory under `.tmp`, removed when dropped (office conversions work here).
    pub fn scratch(&self) -> std::io::Result<Scratch> {
        let dir = Scratch(self.root.join(TMP).join(format!("work-{}", random_name())));
        std::fs::create_dir(&dir.0)?;
        Ok(dir)
    }

    /// Moves a finished upload under its id, with `manifest` (and an office document's
    /// `converted` PDF) beside it. Returns false when the id already existed (a concurrent
    /// upload of the same file won); the upload is dropped.
    pub fn commit(
        &self,
        upload: Upload,
        manifest: &[u8],
        converted: Option<&Path>,
    ) -> std::io::Result<bool> {
        if self.exists(&upload.id) {
            return Ok(false);
        }
        let staging = self.root.join(TMP).join(format!("doc-{}", random_name()));
        let staging = Scratch(staging);
        std::fs::create_dir(&staging.0)?;
        std::fs::rename(&upload.temp.0, staging.0.join(ORIGINAL))?;
        std::fs::write(staging.0.join(MANIFEST), manifest)?;
        if let Some(pdf) = converted {
            std::fs::rename(pdf, staging.0.join(CONVERTED))?;
        }
        match std::fs::rename(&staging.0, self.dir(&upload.id)) {
            Ok(()) => {
                std::mem::forget(staging);
                Ok(true)
            }
            // Another upload of the same bytes got there first: theirs is identical.
            Err(_) if self.exists(&upload.id) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// An upload in flight. Dropping it (say, the client disconnected) deletes the temp file.
pub struct Ingest {
    temp: TempPath,
    file: File,
    hasher: Sha256,
    len: u64,
    limit: u64,
    head: Vec<u8>,
}

impl Ingest {
    /// Appends a chunk. Plain blocking writes: a chunk is tens of KiB going to the page cache,
    /// cheaper than a hop to a blocking thread.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), DocError> {
        self.len += chunk.len() as u64;
        if self.len > self.limit {
            return Err(DocError::TooLarge { limit: self.limit });
        }
        if self.head.len() < SNIFF_LEN {
            let take = (SNIFF_LEN - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk)?;
        Ok(())
    }

    pub fn finish(mut self) -> Result<Upload, DocError> {
        self.file.flush()?;
        Ok(Upload {
            id: hex(&self.hasher.finalize()),
            len: self.len,
            head: self.head,
            temp: self.temp,
        })
    }
}

/// A complete upload, not yet under its id. Dropping it deletes the file.
pub struct Upload {
    pub id: String,
    pub len: u64,
    /// The first bytes, for sniffing.
    pub head: Vec<u8>,
    temp: TempPath,
}

impl Upload {
    pub fn path(&self) -> &Path {
        &self.temp.0
    }
}

struct TempPath(PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A directory removed with everything in it when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn random_name() -> String {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).expect("the OS random source works");
    hex(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_data(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lectern-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn leftovers(store: &Store) -> usize {
        std::fs::read_dir(store.root.join(TMP)).unwrap().count()
    }

    #[test]
    fn id_is_the_sha256_and_commit_is_all_or_nothing() {
        let data = temp_data("commit");
        let store = Store::open(&data).unwrap();
        let mut up = store.ingest(100).unwrap();
        up.write(b"hello ").unwrap();
        up.write(b"world").unwrap();
        let up = up.finish().unwrap();
        assert_eq!(up.id, sha256_hex(b"hello world"));
        assert_eq!(up.head, b"hello world");
        let id = up.id.clone();
        assert!(store.commit(up, b"{}", None).unwrap());
        assert_eq!(
            std::fs::read(store.dir(&id).join(ORIGINAL)).unwrap(),
            b"hello world"
        );
        // The same bytes again: nothing new is written.
        let mut again = store.ingest(100).unwrap();
        again.write(b"hello world").unwrap();
        assert!(!store.commit(again.finish().unwrap(), b"{}", None).unwrap());
        assert_eq!(leftovers(&store), 0);
        std::fs::remove_dir_all(&data).unwrap();
    }

    #[test]
    fn abandoned_and_oversized_uploads_leave_nothing() {
        let data = temp_data("abandon");
        let store = Store::open(&data).unwrap();
        let mut up = store.ingest(100).unwrap();
        up.write(b"partial").unwrap();
        drop(up);
        let mut big = store.ingest(4).unwrap();
        assert!(matches!(
            big.write(b"too long"),
            Err(DocError::TooLarge { limit: 4 })
        ));
        drop(big);
        let done = store.ingest(100).unwrap().finish().unwrap();
        drop(done);
        assert_eq!(leftovers(&store), 0);
        std::fs::remove_dir_all(&data).unwrap();
    }
}
