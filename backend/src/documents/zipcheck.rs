//! Hostile-zip checks for OOXML/ODF uploads, before LibreOffice sees them.
//!
//! The central directory is read first (entry count and the sizes it declares), then every
//! member is actually inflated into a counter: a zip bomb's directory may lie about sizes, but
//! the inflated byte count cannot. Inflating a normal deck costs tens of milliseconds, which is
//! cheap next to the conversion it protects.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::DocError;

/// More members than any real document has (a 300-slide deck has ~1,500).
pub const MAX_ENTRIES: usize = 10_000;
/// Uncompressed size of all members together.
pub const MAX_TOTAL: u64 = 1 << 30;
/// Members larger than [`RATIO_FLOOR`] may expand at most this much (XML compresses 10–30×;
/// deflate's ceiling is ~1,030×, which only crafted data reaches).
pub const MAX_RATIO: u64 = 200;
const RATIO_FLOOR: u64 = 8 << 20;

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_LOCATOR_SIG: u32 = 0x0706_4b50;
const CDH_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;

struct Entry {
    name: String,
    method: u16,
    compressed: u64,
    uncompressed: u64,
    local_offset: u64,
}

fn rejected(why: impl Into<String>) -> DocError {
    DocError::HostileArchive(why.into())
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Checks the zip at `path`; Ok when it is safe to hand to LibreOffice.
pub fn check(path: &Path) -> Result<(), DocError> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let entries = central_directory(&mut f, len)?;
    let mut total = 0u64;
    for e in &entries {
        let actual = inflated_size(&mut f, e, MAX_TOTAL - total)?;
        if actual != e.uncompressed {
            return Err(rejected(format!(
                "member {:?} declares {} bytes but holds {actual}",
                e.name, e.uncompressed
            )));
        }
        if actual > RATIO_FLOOR && actual / e.compressed.max(1) > MAX_RATIO {
            return Err(rejected(format!(
                "member {:?} expands {}× (limit {MAX_RATIO}×)",
                e.name,
                actual / e.compressed.max(1)
            )));
        }
        total += actual;
    }
    Ok(())
}

fn central_directory(f: &mut File, len: u64) -> Result<Vec<Entry>, DocError> {
    // The end record is 22 bytes plus a comment of at most 64 KiB.
    let tail_len = len.min(22 + 65_535 + 20);
    let mut tail = vec![0u8; tail_len as usize];
    f.seek(SeekFrom::Start(len - tail_len))?;
    f.read_exact(&mut tail)?;
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(&tail, i) == EOCD_SIG)
        .ok_or_else(|| rejected("no zip directory (truncated or not a zip)"))?;
    let mut count = u16_at(&tail, eocd + 10) as u64;
    let mut cd_size = u32_at(&tail, eocd + 12) as u64;
    let mut cd_offset = u32_at(&tail, eocd + 16) as u64;
    if eocd >= 20 && u32_at(&tail, eocd - 20) == EOCD64_LOCATOR_SIG {
        let at = u64_at(&tail, eocd - 12);
        let mut rec = [0u8; 56];
        f.seek(SeekFrom::Start(at))?;
        f.read_exact(&mut rec)
            .map_err(|_| rejected("bad zip64 directory"))?;
        count = u64_at(&rec, 32);
        cd_size = u64_at(&rec, 40);
        cd_offset = u64_at(&rec, 48);
    }
    if count > MAX_ENTRIES as u64 {
        return Err(rejected(format!("{count} members (limit {MAX_ENTRIES})")));
    }
    if cd_offset.checked_add(cd_size).is_none_or(|end| end > len) {
        return Err(rejected("zip directory lies outside the file"));
    }
    let mut cd = vec![0u8; cd_size as usize];
    f.seek(SeekFrom::Start(cd_offset))?;
    f.read_exact(&mut cd)?;
    let mut entries = Vec::with_capacity(count as usize);
    let mut at = 0usize;
    let mut declared = 0u64;
    while at + 46 <= cd.len() && u32_at(&cd, at) == CDH_SIG {
        let (name_len, extra_len, comment_len) = (
            u16_at(&cd, at + 28) as usize,
            u16_at(&cd, at + 30) as usize,
            u16_at(&cd, at + 32) as usize,
        );
        let end = at + 46 + name_len + extra_len + comment_len;
        if end > cd.len() {
            return Err(rejected("zip directory entry runs past its end"));
        }
        let name = String::from_utf8_lossy(&cd[at + 46..at + 46 + name_len]).into_owned();
        let mut e = Entry {
            name,
            method: u16_at(&cd, at + 10),
            compressed: u32_at(&cd, at + 20) as u64,
            uncompressed: u32_at(&cd, at + 24) as u64,
            local_offset: u32_at(&cd, at + 42) as u64,
        };
        zip64_sizes(
            &mut e,
            &cd[at + 46 + name_len..at + 46 + name_len + extra_len],
        );
        declared = declared.saturating_add(e.uncompressed);
        if declared > MAX_TOTAL {
            return Err(rejected(format!(
                "members add up to more than {MAX_TOTAL} bytes uncompressed"
            )));
        }
        entries.push(e);
        if entries.len() > MAX_ENTRIES {
            return Err(rejected(format!("more than {MAX_ENTRIES} members")));
        }
        at = end;
    }
    if entries.is_empty() {
        return Err(rejected("the zip has no members"));
    }
    Ok(entries)
}

/// Replaces saturated 32-bit fields with the zip64 extra field's values, in the spec's order.
fn zip64_sizes(e: &mut Entry, mut extra: &[u8]) {
    while extra.len() >= 4 {
        let (id, size) = (u16_at(extra, 0), u16_at(extra, 2) as usize);
        let body = &extra[4..(4 + size).min(extra.len())];
        if id == 0x0001 {
            let mut vals = body.chunks_exact(8).map(|c| u64_at(c, 0));
            for field in [&mut e.uncompressed, &mut e.compressed, &mut e.local_offset] {
                if *field == 0xFFFF_FFFF {
                    if let Some(v) = vals.next() {
                        *field = v;
                    }
                }
            }
        }
        extra = &extra[(4 + size).min(extra.len())..];
    }
}

/// Inflates one member into a counter, stopping once it passes `budget` bytes.
fn inflated_size(f: &mut File, e: &Entry, budget: u64) -> Result<u64, DocError> {
    let mut local = [0u8; 30];
    f.seek(SeekFrom::Start(e.local_offset))?;
    f.read_exact(&mut local)
        .map_err(|_| rejected(format!("member {:?} lies outside the file", e.name)))?;
    if u32_at(&local, 0) != LOCAL_SIG {
        return Err(rejected(format!("member {:?} has no local header", e.name)));
    }
    let skip = u16_at(&local, 26) as i64 + u16_at(&local, 28) as i64;
    f.seek(SeekFrom::Current(skip))?;
    let data = (&mut *f).take(e.compressed);
    let mut sink = std::io::sink();
    let limit = budget.saturating_add(1);
    let n = match e.method {
        0 => std::io::copy(&mut data.take(limit), &mut sink),
        8 => std::io::copy(
            &mut flate2::read::DeflateDecoder::new(data).take(limit),
            &mut sink,
        ),
        m => {
            return Err(rejected(format!(
                "member {:?} uses compression method {m}",
                e.name
            )))
        }
    }
    .map_err(|err| rejected(format!("member {:?} is corrupt: {err}", e.name)))?;
    if n > budget {
        return Err(rejected(format!(
            "members add up to more than {MAX_TOTAL} bytes uncompressed"
        )));
    }
    Ok(n)
}
