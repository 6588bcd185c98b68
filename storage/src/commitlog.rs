//! The CommitLog: one append-only log of records split into fixed-size segments
//! (protocol.md §4.2). A record never spans two segments; a segment that cannot take the next
//! record (plus 8 bytes) is closed with a BLANK filler and the log continues in the next one.
//!
//! There is one writer: an [`AppendSession`] (holding the writer lock) encodes a whole group into
//! one buffer, and [`AppendSession::commit`] writes it with a single `pwrite` per segment touched
//! and publishes the new end. Readers get zero-copy [`SegmentSlice`]s below the published end.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::error::{io_err, StoreError};
use crate::record::{self, CrcCheck, DecodeError, Decoded, Record, BLANK_LEN};
use crate::segment::{list_segment_files, Segment, SegmentSlice};

/// How appended bytes reach the segment files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// A copy into the shared mapping: no syscall per group (ASYNC_FLUSH).
    Mapped,
    /// One `pwrite` per group: no page faults while a concurrent fdatasync writes back
    /// (SYNC_FLUSH).
    Pwrite,
}

/// The append-only log.
#[derive(Debug)]
pub struct CommitLog {
    dir: PathBuf,
    segment_size: u64,
    write_mode: WriteMode,
    segments: RwLock<Vec<Arc<Segment>>>,
    /// Everything below this global offset is written and may be read.
    write_pos: AtomicU64,
    writer: Mutex<Writer>,
}

#[derive(Debug)]
struct Writer {
    /// Global offset where `buf` will be written.
    buf_start: u64,
    buf: Vec<u8>,
}

/// How recovery ended its scan of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEnd {
    /// Zeros: nothing was ever written past the end.
    Clean,
    /// A record that does not decode: a torn tail (or corruption, see [`Recovered`]).
    Invalid(DecodeError),
}

/// What recovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Offset recovery started scanning at.
    pub scanned_from: u64,
    /// The recovered end of the log.
    pub end: u64,
    /// Records found (and handed to the visitor) past `scanned_from`.
    pub records: u64,
    /// Bytes of a torn tail that were discarded.
    pub discarded_tail: Option<(u64, DecodeError)>,
    /// Segment files after the end that were deleted (they held no valid record).
    pub removed_segments: Vec<PathBuf>,
}

/// One step of a scan over the log.
#[derive(Debug)]
pub enum ScanStep {
    /// A record starting at `offset`.
    Record { offset: u64, slice: SegmentSlice },
    /// The rest of the segment is filler; continue at the next segment's base.
    SkipTo(u64),
}

impl CommitLog {
    /// Opens (or creates) the log in `dir` and recovers its end.
    ///
    /// Scanning starts at `scan_from` (clamped to the oldest segment): everything before it is
    /// trusted. Each valid record found is passed to `visit` so that indexes can be rebuilt.
    /// `durable` is an offset known to have been durable; an undecodable record below it, or
    /// followed by a segment that holds data, is corruption and is reported, never truncated.
    pub fn open(
        dir: &Path,
        segment_size: u64,
        scan_from: u64,
        durable: u64,
        visit: impl FnMut(u64, &Record<'_>),
    ) -> Result<(CommitLog, Recovered), StoreError> {
        Self::open_checked(dir, segment_size, scan_from, durable, CrcCheck::Verify, visit)
    }

    /// [`CommitLog::open`] with the body-CRC check of the recovery scan chosen
    /// (`checkCRCOnRecover`): with [`CrcCheck::Skip`] only the framing is checked.
    pub fn open_checked(
        dir: &Path,
        segment_size: u64,
        scan_from: u64,
        durable: u64,
        crc: CrcCheck,
        mut visit: impl FnMut(u64, &Record<'_>),
    ) -> Result<(CommitLog, Recovered), StoreError> {
        if segment_size < 4096 {
            return Err(StoreError::Config(format!(
                "mappedFileSizeCommitLog {segment_size} is smaller than 4096"
            )));
        }
        std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let mut segments = Vec::new();
        for (base, path) in list_segment_files(dir)? {
            if base % segment_size != 0 {
                return Err(StoreError::Layout(format!(
                    "segment {} does not start at a multiple of mappedFileSizeCommitLog {segment_size}",
                    path.display()
                )));
            }
            if let Some(prev) = segments.last().map(|s: &Segment| s.end()) {
                if prev != base {
                    return Err(StoreError::Layout(format!(
                        "CommitLog gap: a segment ends at {prev} but the next file is {}",
                        path.display()
                    )));
                }
            }
            segments.push(Segment::open(&path, base, segment_size)?);
        }
        if segments.is_empty() {
            let base = scan_from - scan_from % segment_size;
            segments.push(Segment::create(dir, base, segment_size)?);
        }
        let first = segments[0].base();
        let last_end = segments.last().map(Segment::end).unwrap_or(first);
        let start = scan_from.clamp(first, last_end);

        // Scan with every segment readable.
        let log = CommitLog {
            dir: dir.to_path_buf(),
            segment_size,
            write_mode: WriteMode::Mapped,
            segments: RwLock::new(segments.into_iter().map(Arc::new).collect()),
            write_pos: AtomicU64::new(last_end),
            writer: Mutex::new(Writer {
                buf_start: 0,
                buf: Vec::new(),
            }),
        };
        let mut pos = start;
        let mut records = 0u64;
        let end_reason = loop {
            match log.scan_at(pos, crc) {
                Ok(None) => break ScanEnd::Clean,
                Ok(Some(ScanStep::SkipTo(next))) => pos = next,
                Ok(Some(ScanStep::Record { offset, slice })) => {
                    match record::decode_message(&slice, CrcCheck::Skip) {
                        Ok(r) if r.physical_offset == offset as i64 => {
                            visit(offset, &r);
                            records += 1;
                            pos = offset + r.total_size as u64;
                        }
                        Ok(r) => {
                            break ScanEnd::Invalid(DecodeError::SizeMismatch {
                                declared: offset as usize,
                                computed: r.physical_offset as usize,
                            })
                        }
                        Err(e) => break ScanEnd::Invalid(e),
                    }
                }
                Err(ScanError::Zeros) => break ScanEnd::Clean,
                Err(ScanError::Decode(e)) => break ScanEnd::Invalid(e),
            }
        };
        let mut segments: Vec<Segment> =
            std::mem::take(&mut *log.segments.write().map_err(|_| StoreError::Closed)?)
                .into_iter()
                .map(|s| Arc::try_unwrap(s).map_err(|_| StoreError::Closed))
                .collect::<Result<_, _>>()?;

        // Classify what lies past the end.
        let end_idx = segments
            .iter()
            .position(|s| s.contains(pos))
            .unwrap_or(segments.len());
        let later_data = segments
            .iter()
            .skip(end_idx + 1)
            .find(|s| s.bytes(0, 8).iter().any(|&b| b != 0));
        if let ScanEnd::Invalid(reason) = &end_reason {
            if pos < durable || later_data.is_some() {
                let file = segments
                    .get(end_idx)
                    .map(|s| s.path().to_path_buf())
                    .unwrap_or_else(|| dir.to_path_buf());
                return Err(StoreError::Corrupted {
                    offset: pos,
                    file,
                    reason: reason.clone(),
                });
            }
        } else if let Some(seg) = later_data {
            return Err(StoreError::Corrupted {
                offset: pos,
                file: seg.path().to_path_buf(),
                reason: DecodeError::BadMagic(0),
            });
        }
        let mut discarded_tail = None;
        if let ScanEnd::Invalid(reason) = end_reason {
            tracing::warn!(offset = pos, %reason, "discarding a torn CommitLog tail");
            discarded_tail = Some((pos, reason));
        }
        let mut removed_segments = Vec::new();
        while segments.len() > end_idx + 1 {
            if let Some(seg) = segments.pop() {
                // Keep the very first segment when the log is empty, so the base is known.
                if segments.is_empty() {
                    segments.push(seg);
                    break;
                }
                std::fs::remove_file(seg.path())
                    .map_err(io_err(format!("removing {}", seg.path().display())))?;
                removed_segments.push(seg.path().to_path_buf());
            }
        }
        if let Some(seg) = segments.pop() {
            let seg = if seg.contains(pos) && discarded_tail.is_some() {
                let rel = pos - seg.base();
                seg.zero_from(rel)?
            } else {
                seg
            };
            segments.push(seg);
        }
        *log.segments.write().map_err(|_| StoreError::Closed)? = segments.into_iter().map(Arc::new).collect();
        log.write_pos.store(pos, Ordering::Release);
        if let Ok(mut w) = log.writer.lock() {
            w.buf_start = pos;
        }
        Ok((
            log,
            Recovered {
                scanned_from: start,
                end: pos,
                records,
                discarded_tail,
                removed_segments,
            },
        ))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Chooses how groups are written (the store picks by flush mode).
    pub fn set_write_mode(&mut self, mode: WriteMode) {
        self.write_mode = mode;
    }

    pub fn segment_size(&self) -> u64 {
        self.segment_size
    }

    /// One past the last written byte: the next record's offset (modulo a segment roll).
    pub fn write_pos(&self) -> u64 {
        self.write_pos.load(Ordering::Acquire)
    }

    /// The first offset still stored (the oldest segment's base).
    pub fn min_offset(&self) -> u64 {
        self.segments
            .read()
            .ok()
            .and_then(|s| s.first().map(|s| s.base()))
            .unwrap_or(0)
    }

    /// The segments, oldest first.
    pub fn segments(&self) -> Vec<Arc<Segment>> {
        self.segments.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Segments holding any byte of `[from, to)`.
    pub fn segments_in(&self, from: u64, to: u64) -> Vec<Arc<Segment>> {
        self.segments
            .read()
            .map(|s| {
                s.iter()
                    .filter(|seg| seg.end() > from && seg.base() < to)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn segment_for(&self, offset: u64) -> Option<Arc<Segment>> {
        let segs = self.segments.read().ok()?;
        let idx = segs.partition_point(|s| s.end() <= offset);
        segs.get(idx).filter(|s| s.contains(offset)).cloned()
    }

    /// The `size` bytes at `offset`, zero-copy.
    pub fn read(&self, offset: u64, size: usize) -> Result<SegmentSlice, StoreError> {
        let max = self.write_pos();
        let out_of_range = || StoreError::OffsetOutOfRange {
            offset,
            min: self.min_offset(),
            max,
        };
        let end = offset.checked_add(size as u64).ok_or_else(out_of_range)?;
        if end > max {
            return Err(out_of_range());
        }
        let seg = self.segment_for(offset).ok_or_else(out_of_range)?;
        if end > seg.end() {
            return Err(out_of_range());
        }
        Ok(SegmentSlice::new(
            seg.clone(),
            (offset - seg.base()) as usize,
            size,
        ))
    }

    /// Reads and decodes the record at `offset`.
    pub fn read_record(&self, offset: u64, crc: CrcCheck) -> Result<SegmentSlice, StoreError> {
        match self.scan_at(offset, crc) {
            Ok(Some(ScanStep::Record { slice, .. })) => Ok(slice),
            Ok(_) | Err(ScanError::Zeros) => Err(StoreError::OffsetOutOfRange {
                offset,
                min: self.min_offset(),
                max: self.write_pos(),
            }),
            Err(ScanError::Decode(reason)) => Err(StoreError::Corrupted {
                offset,
                file: self
                    .segment_for(offset)
                    .map(|s| s.path().to_path_buf())
                    .unwrap_or_default(),
                reason,
            }),
        }
    }

    /// Looks at what starts at `offset` (below the write position). `Ok(None)` at the end.
    pub fn scan_at(&self, offset: u64, crc: CrcCheck) -> Result<Option<ScanStep>, ScanError> {
        let limit = self.write_pos();
        if offset >= limit {
            return Ok(None);
        }
        let Some(seg) = self.segment_for(offset) else {
            return Ok(None);
        };
        let pos = (offset - seg.base()) as usize;
        let avail = (limit.min(seg.end()) - offset) as usize;
        if seg.end() - offset < BLANK_LEN as u64 {
            return Ok(Some(ScanStep::SkipTo(seg.end())));
        }
        if avail < 8 {
            // A header not written whole yet (a replica's log ends mid-record).
            return Ok(None);
        }
        let bytes = seg.bytes(pos, avail);
        let (total, magic) = record::peek_header(bytes).map_err(ScanError::Decode)?;
        if total == 0 && magic == 0 {
            return Err(ScanError::Zeros);
        }
        if total > 0 && total as u64 > avail as u64 && offset + total as u64 <= seg.end() && limit < seg.end()
        {
            // A record whose end is not written yet: nothing complete here.
            return Ok(None);
        }
        match record::decode(bytes, crc).map_err(ScanError::Decode)? {
            Decoded::Blank => Ok(Some(ScanStep::SkipTo(seg.end()))),
            Decoded::Message(r) => {
                let len = r.total_size;
                Ok(Some(ScanStep::Record {
                    offset,
                    slice: SegmentSlice::new(seg, pos, len),
                }))
            }
        }
    }

    /// Starts appending; holds the writer lock until the session is committed or dropped.
    pub fn begin(&self) -> Result<AppendSession<'_>, StoreError> {
        let writer = self.writer.lock().map_err(|_| StoreError::Closed)?;
        let active = self
            .segment_for(writer.buf_start)
            .or_else(|| self.segments().last().cloned())
            .ok_or(StoreError::Closed)?;
        Ok(AppendSession {
            log: self,
            writer,
            active,
        })
    }

    /// Writes bytes replicated from a master (protocol.md §9.1): they must start at this log's
    /// end, except that an empty log takes the master's starting point (a segment boundary: an
    /// empty slave is fed from the start of the master's last segment). The bytes are raw
    /// CommitLog content — records, possibly cut mid-record, and BLANK fillers — written
    /// verbatim, across segment boundaries as they fall. Returns the new end of the log.
    pub fn append_raw(&self, offset: u64, data: &[u8]) -> Result<u64, StoreError> {
        let mut writer = self.writer.lock().map_err(|_| StoreError::Closed)?;
        let end = writer.buf_start;
        if offset != end {
            let empty = end == self.min_offset() && self.segments().len() == 1;
            if !(empty && offset.is_multiple_of(self.segment_size)) {
                return Err(StoreError::ReplicaOffset {
                    expected: end,
                    got: offset,
                });
            }
            let mut segs = self.segments.write().map_err(|_| StoreError::Closed)?;
            let fresh = Arc::new(Segment::create(&self.dir, offset, self.segment_size)?);
            for old in segs.drain(..) {
                std::fs::remove_file(old.path())
                    .map_err(io_err(format!("removing {}", old.path().display())))?;
            }
            segs.push(fresh);
            writer.buf_start = offset;
            self.write_pos.store(offset, Ordering::Release);
        }
        let mut pos = offset;
        let mut rest = data;
        while !rest.is_empty() {
            let seg = match self.segment_for(pos) {
                Some(seg) => seg,
                None => {
                    let seg = Arc::new(Segment::create(&self.dir, pos, self.segment_size)?);
                    self.segments
                        .write()
                        .map_err(|_| StoreError::Closed)?
                        .push(seg.clone());
                    seg
                }
            };
            let n = rest.len().min((seg.end() - pos) as usize);
            let (now, later) = rest.split_at(n);
            let at = pos - seg.base();
            match self.write_mode {
                WriteMode::Mapped => seg.write_at(at, now)?,
                WriteMode::Pwrite => seg.pwrite_at(at, now)?,
            }
            pos += n as u64;
            rest = later;
        }
        writer.buf_start = pos;
        self.write_pos.store(pos, Ordering::Release);
        Ok(pos)
    }

    /// Removes the oldest segment (retention). Never the one being written.
    pub(crate) fn remove_oldest(&self) -> Result<Option<PathBuf>, StoreError> {
        let mut segs = self.segments.write().map_err(|_| StoreError::Closed)?;
        if segs.len() <= 1 || segs[0].contains(self.write_pos()) {
            return Ok(None);
        }
        let seg = segs.remove(0);
        std::fs::remove_file(seg.path()).map_err(io_err(format!("removing {}", seg.path().display())))?;
        Ok(Some(seg.path().to_path_buf()))
    }
}

/// Why [`CommitLog::scan_at`] stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanError {
    /// An all-zero header: never written.
    Zeros,
    Decode(DecodeError),
}

/// An append in progress: encode records into [`buffer`](Self::buffer) after
/// [`reserve`](Self::reserve)-ing room for them, then [`commit`](Self::commit).
pub struct AppendSession<'a> {
    log: &'a CommitLog,
    writer: MutexGuard<'a, Writer>,
    active: Arc<Segment>,
}

impl AppendSession<'_> {
    /// The global offset the next byte of the buffer will land at.
    pub fn next_offset(&self) -> u64 {
        self.writer.buf_start + self.writer.buf.len() as u64
    }

    /// Makes sure `len` bytes fit contiguously in the current segment, closing it with a BLANK
    /// filler and moving to a new one when they do not. Returns the offset they will start at.
    pub fn reserve(&mut self, len: usize) -> Result<u64, StoreError> {
        let seg_size = self.log.segment_size;
        if len as u64 + BLANK_LEN as u64 > seg_size {
            return Err(StoreError::LargerThanSegment {
                size: len,
                segment_size: seg_size,
            });
        }
        let pos = self.next_offset();
        if pos + len as u64 + BLANK_LEN as u64 <= self.active.end() {
            return Ok(pos);
        }
        let remaining = self.active.end() - pos;
        if remaining >= BLANK_LEN as u64 {
            record::encode_blank(&mut self.writer.buf, remaining as usize);
        }
        self.write_buffer()?;
        // Everything up to the segment end is now "written" (the filler says: skip).
        let next_base = self.active.end();
        self.writer.buf_start = next_base;
        self.log.write_pos.store(next_base, Ordering::Release);
        let seg = Arc::new(Segment::create(&self.log.dir, next_base, seg_size)?);
        self.log
            .segments
            .write()
            .map_err(|_| StoreError::Closed)?
            .push(seg.clone());
        self.active = seg;
        Ok(next_base)
    }

    /// The group's buffer; records are encoded at its end.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.writer.buf
    }

    /// Drops what was encoded since the last commit (a record failed to encode).
    pub fn truncate_buffer(&mut self, len: usize) {
        self.writer.buf.truncate(len);
    }

    fn write_buffer(&mut self) -> Result<(), StoreError> {
        if self.writer.buf.is_empty() {
            return Ok(());
        }
        let pos = self.writer.buf_start - self.active.base();
        let res = match self.log.write_mode {
            WriteMode::Mapped => self.active.write_at(pos, &self.writer.buf),
            WriteMode::Pwrite => self.active.pwrite_at(pos, &self.writer.buf),
        };
        self.writer.buf.clear();
        res
    }

    /// Writes the group and publishes it to readers; returns the new end of the log.
    pub fn commit(mut self) -> Result<u64, StoreError> {
        let end = self.next_offset();
        // On failure nothing of this group is published; the next group goes to the same place.
        self.write_buffer()?;
        self.writer.buf_start = end;
        self.log.write_pos.store(end, Ordering::Release);
        Ok(end)
    }
}

impl Drop for AppendSession<'_> {
    fn drop(&mut self) {
        // An uncommitted group is abandoned.
        self.writer.buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{MessageFields, StoreStamp};

    fn fields(body: &[u8]) -> MessageFields<'_> {
        MessageFields {
            topic: "T",
            queue_id: 0,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 1,
            born_host: "127.0.0.1:1".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body,
            properties: "",
        }
    }

    fn append(log: &CommitLog, body: &[u8]) -> u64 {
        let mut s = log.begin().unwrap();
        let f = fields(body);
        let len = record::encoded_len(&f, "127.0.0.1:2".parse().unwrap()).unwrap();
        let at = s.reserve(len).unwrap();
        let stamp = StoreStamp {
            queue_offset: 0,
            physical_offset: at as i64,
            store_timestamp: 2,
            store_host: "127.0.0.1:2".parse().unwrap(),
        };
        record::encode(s.buffer(), &f, &stamp, None).unwrap();
        s.commit().unwrap();
        at
    }

    #[test]
    fn check_crc_on_recover_chooses_the_body_check() {
        let dir = tempfile::tempdir().unwrap();
        let end = {
            let (log, _) = CommitLog::open(dir.path(), 4096, 0, 0, |_, _| {}).unwrap();
            let body = vec![7u8; 1000];
            for _ in 0..3 {
                append(&log, &body);
            }
            log.write_pos()
        };
        // Flip one byte inside the second record's body.
        let seg = dir.path().join(format!("{:020}", 0));
        let mut bytes = std::fs::read(&seg).unwrap();
        assert_eq!(bytes[1092 + 600], 7);
        bytes[1092 + 600] = 8;
        std::fs::write(&seg, &bytes).unwrap();

        let checked = CommitLog::open_checked(dir.path(), 4096, 0, end, CrcCheck::Verify, |_, _| {});
        match checked {
            Err(StoreError::Corrupted { offset, reason, .. }) => {
                assert_eq!(offset, 1092);
                assert!(matches!(reason, DecodeError::BodyCrc { .. }), "{reason}");
            }
            other => panic!(
                "a body CRC mismatch must be found: {:?}",
                other.map(|(_, r)| r.end)
            ),
        }
        let mut seen = 0;
        let (_, rec) =
            CommitLog::open_checked(dir.path(), 4096, 0, end, CrcCheck::Skip, |_, _| seen += 1).unwrap();
        assert_eq!(
            (rec.end, seen),
            (end, 3),
            "checkCRCOnRecover=false trusts the bodies"
        );
    }

    #[test]
    fn rolls_with_blank_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let (log, rec) = CommitLog::open(dir.path(), 4096, 0, 0, |_, _| {}).unwrap();
        assert_eq!(rec.end, 0);
        let body = vec![7u8; 1000];
        let offs: Vec<u64> = (0..10).map(|_| append(&log, &body)).collect();
        // 1092-byte records: 3 per 4096-byte segment (3·1092 + 8 ≤ 4096 < 4·1092).
        assert_eq!(offs[3], 4096);
        assert_eq!(log.segments().len(), 4);
        let slice = log.read(offs[5], 1092).unwrap();
        assert_eq!(
            record::decode_message(&slice, CrcCheck::Verify).unwrap().body,
            &body[..]
        );
        assert!(log.read(log.write_pos(), 1).is_err());
        let end = log.write_pos();
        drop(log);
        let mut seen = Vec::new();
        let (log, rec) = CommitLog::open(dir.path(), 4096, 0, end, |o, _| seen.push(o)).unwrap();
        assert_eq!(seen, offs);
        assert_eq!(rec.end, end);
        assert_eq!(log.write_pos(), end);
        assert!(CommitLog::open(dir.path(), 8192, 0, 0, |_, _| {}).is_err());
    }

    #[test]
    fn replicated_bytes_land_verbatim_and_a_cut_record_is_not_scanned_until_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (master, _) = CommitLog::open(&dir.path().join("m"), 4096, 0, 0, |_, _| {}).unwrap();
        let body = vec![3u8; 1000];
        let offs: Vec<u64> = (0..5).map(|_| append(&master, &body)).collect();
        let end = master.write_pos();
        let (slave, _) = CommitLog::open(&dir.path().join("s"), 4096, 0, 0, |_, _| {}).unwrap();
        // Feed in 700-byte chunks that cut records and stop at segment ends.
        let mut pos = 0;
        while pos < end {
            let seg_end = pos - pos % 4096 + 4096;
            let n = 700.min(seg_end.min(end) - pos) as usize;
            let chunk = master.read(pos, n).unwrap();
            let next = slave.append_raw(pos, &chunk).unwrap();
            assert_eq!(next, pos + n as u64);
            // What is scannable is exactly the complete records below the end.
            if let Some(&cut) = offs.iter().find(|&&o| o < next && o + 1092 > next) {
                assert!(matches!(slave.scan_at(cut, CrcCheck::Verify), Ok(None)));
            }
            pos = next;
        }
        assert_eq!(slave.write_pos(), end);
        for &o in &offs {
            let r = slave.read_record(o, CrcCheck::Verify).unwrap();
            assert_eq!(
                record::decode_message(&r, CrcCheck::Verify).unwrap().body,
                &body[..]
            );
        }
        // A gap is refused; an empty log takes a master's segment boundary as its start.
        assert!(matches!(
            slave.append_raw(end + 8, b"x"),
            Err(StoreError::ReplicaOffset { .. })
        ));
        let (late, _) = CommitLog::open(&dir.path().join("l"), 4096, 0, 0, |_, _| {}).unwrap();
        let tail = master.read(offs[3], 1092).unwrap();
        assert_eq!(late.append_raw(offs[3], &tail).unwrap(), offs[3] + 1092);
        assert_eq!(late.min_offset(), 4096);
        drop(late);
        let mut seen = Vec::new();
        let (late, rec) = CommitLog::open(&dir.path().join("l"), 4096, 4096, 0, |o, _| seen.push(o)).unwrap();
        assert_eq!(seen, [offs[3]]);
        assert_eq!(rec.end, offs[3] + 1092);
        assert_eq!(late.write_pos(), offs[3] + 1092);
    }

    #[test]
    fn refuses_records_larger_than_a_segment() {
        let dir = tempfile::tempdir().unwrap();
        let (log, _) = CommitLog::open(dir.path(), 4096, 0, 0, |_, _| {}).unwrap();
        let mut s = log.begin().unwrap();
        assert!(matches!(
            s.reserve(4090),
            Err(StoreError::LargerThanSegment { .. })
        ));
    }
}
