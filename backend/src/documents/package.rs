//! The whole-document package for pre-distribution on a LAN: an uncompressed POSIX (ustar)
//! tar holding `manifest.json` and `pages/{n}.png`, the very bytes the manifest's hashes
//! cover. Uncompressed because PNG does not compress further and a browser can then unpack
//! it with a few lines (512-byte headers, sizes in octal) instead of a zip library.

use std::path::{Path, PathBuf};

use super::encode::FORMAT;
use super::store::sha256_hex;
use super::Manifest;

const BLOCK: u64 = 512;

/// One member: its name in the archive and where its bytes are.
pub enum Member {
    Bytes(String, Vec<u8>),
    File(String, PathBuf, u64),
}

impl Member {
    pub fn name(&self) -> &str {
        match self {
            Member::Bytes(n, _) | Member::File(n, _, _) => n,
        }
    }

    pub fn size(&self) -> u64 {
        match self {
            Member::Bytes(_, b) => b.len() as u64,
            Member::File(_, _, size) => *size,
        }
    }
}

/// What to send: the members in order, the archive's exact length and its ETag.
pub struct Package {
    pub members: Vec<Member>,
    pub len: u64,
    pub etag: String,
}

/// The package of a finished document in `dir`.
pub fn package(dir: &Path, manifest: &Manifest) -> std::io::Result<Package> {
    let json = serde_json::to_vec_pretty(manifest).expect("a manifest serialises");
    // The pages are content-addressed by the manifest's hashes, so its hash names the package.
    let etag = format!("\"{}\"", sha256_hex(&json));
    let mut members = vec![Member::Bytes("manifest.json".into(), json)];
    for page in &manifest.pages {
        let name = format!("{}.{}", page.number, FORMAT.ext);
        let path = dir.join("pages").join(&name);
        let size = std::fs::metadata(&path)?.len();
        members.push(Member::File(format!("pages/{name}"), path, size));
    }
    let len = members
        .iter()
        .map(|m| BLOCK + padded(m.size()))
        .sum::<u64>()
        + 2 * BLOCK;
    Ok(Package { members, len, etag })
}

/// `size` rounded up to whole blocks.
pub fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK) * BLOCK
}

/// Zero bytes that complete a member of `size` bytes to whole blocks.
pub fn padding(size: u64) -> Vec<u8> {
    vec![0; (padded(size) - size) as usize]
}

/// Two zero blocks end a tar archive.
pub fn trailer() -> Vec<u8> {
    vec![0; 2 * BLOCK as usize]
}

/// A ustar header for a regular file (mode 0644, owner 0, mtime 0: the archive's bytes
/// depend only on the document).
pub fn header(name: &str, size: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    let put =
        |h: &mut [u8; 512], at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    // Our names are ASCII and far below the 100-byte field.
    put(&mut h, 0, &name.as_bytes()[..name.len().min(100)]);
    put(&mut h, 100, b"0000644\0");
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, b"00000000000\0");
    put(&mut h, 148, b"        ");
    h[156] = b'0';
    put(&mut h, 257, b"ustar\0");
    put(&mut h, 263, b"00");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_ustar_with_a_valid_checksum() {
        let h = header("pages/12.png", 1234);
        assert_eq!(&h[..12], b"pages/12.png");
        assert_eq!(&h[124..136], b"00000002322\0");
        assert_eq!(&h[257..265], b"ustar\x0000");
        let mut blank = h;
        blank[148..156].copy_from_slice(b"        ");
        let sum: u32 = blank.iter().map(|&b| b as u32).sum();
        let stored = std::str::from_utf8(&h[148..154]).unwrap();
        assert_eq!(u32::from_str_radix(stored, 8).unwrap(), sum);
        assert_eq!(padded(0), 0);
        assert_eq!(padded(1), 512);
        assert_eq!(padding(1234).len(), 302);
    }
}
