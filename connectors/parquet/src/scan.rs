//! A CommitLog segment read straight from its file, without the store: a read-only mapping and
//! the records in it, in order. Used on sealed segments (the writer has left them), so it needs
//! neither the store's lock nor its recovery; the store's end of a live log is never read here.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use sluice_storage::record::{self, CrcCheck, Decoded, Record};
use sluice_storage::segment::parse_segment_name;

use crate::error::{io_err, ArchiveError};

/// A segment file mapped read-only.
pub struct SegmentFile {
    path: PathBuf,
    base: u64,
    map: Mmap,
}

impl SegmentFile {
    /// Maps the segment at `path`; its start offset comes from its 20-digit name.
    pub fn open(path: &Path) -> Result<SegmentFile, ArchiveError> {
        let base = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(parse_segment_name)
            .ok_or_else(|| ArchiveError::Corrupt {
                file: path.to_path_buf(),
                offset: 0,
                reason: "not a segment file name (20 decimal digits)".into(),
            })?;
        let file = File::open(path).map_err(io_err(format!("opening {}", path.display())))?;
        // SAFETY: the mapping is read-only; a sealed segment is not written any more, and the
        // store only truncates the segment it is recovering, which is not one of these.
        let map = unsafe { Mmap::map(&file) }.map_err(io_err(format!("mapping {}", path.display())))?;
        // Only a hint: the export reads the file once, front to back.
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(SegmentFile {
            path: path.to_path_buf(),
            base,
            map,
        })
    }

    /// Global offset of the first byte.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// File size in bytes.
    pub fn size(&self) -> u64 {
        self.map.len() as u64
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The records, in order, until the BLANK filler or the never-written (zero) tail. Each item
    /// is the record's global offset, its decoded fields and its bytes; a record that does not
    /// decode (or does not carry its own offset) ends the iteration with an error.
    pub fn records(&self) -> Records<'_> {
        Records {
            file: self,
            pos: 0,
            done: false,
        }
    }
}

/// One record of a segment.
pub struct Scanned<'a> {
    pub offset: u64,
    pub record: Record<'a>,
    pub bytes: &'a [u8],
}

/// Iterator over a segment's records.
pub struct Records<'a> {
    file: &'a SegmentFile,
    pos: usize,
    done: bool,
}

impl Records<'_> {
    /// Bytes of the segment consumed so far.
    pub fn position(&self) -> u64 {
        self.pos as u64
    }

    fn corrupt(&mut self, reason: String) -> ArchiveError {
        self.done = true;
        ArchiveError::Corrupt {
            file: self.file.path.clone(),
            offset: self.file.base + self.pos as u64,
            reason,
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Scanned<'a>, ArchiveError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let map: &'a [u8] = &self.file.map;
        let rest = &map[self.pos.min(map.len())..];
        if rest.len() < record::BLANK_LEN {
            self.done = true;
            return None;
        }
        match record::peek_header(rest) {
            Ok((0, 0)) => {
                self.done = true;
                return None;
            }
            Ok(_) => {}
            Err(e) => return Some(Err(self.corrupt(e.to_string()))),
        }
        let offset = self.file.base + self.pos as u64;
        match record::decode(rest, CrcCheck::Verify) {
            Ok(Decoded::Blank) => {
                self.done = true;
                self.pos = map.len();
                None
            }
            Ok(Decoded::Message(r)) if r.physical_offset == offset as i64 => {
                let bytes = &rest[..r.total_size];
                self.pos += r.total_size;
                Some(Ok(Scanned {
                    offset,
                    record: r,
                    bytes,
                }))
            }
            Ok(Decoded::Message(r)) => {
                let reason = format!("record says it is at offset {}", r.physical_offset);
                Some(Err(self.corrupt(reason)))
            }
            Err(e) => Some(Err(self.corrupt(e.to_string()))),
        }
    }
}
