//! `sluice export`: CommitLog segments of a data directory → Parquet files (one per segment,
//! named by its start offset), with a progress bar on stderr.
//!
//! Segment files are read directly (read-only mappings), never through the store, so no layout
//! setting is needed. A stopped broker's directory: its lock is taken for the duration (no broker
//! starts meanwhile) and every segment is exported, the newest up to its end (a torn record left
//! by a crash ends it, as recovery would decide). A running broker holds that lock: then only its
//! sealed segments (every segment file but the newest) are read.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use sluice_parquet::{export_segment, ExportOptions, SystemTopics};
use sluice_storage::segment::list_segment_files;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The store's root directory (storePathRootDir).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Where the Parquet files go (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Only messages of this topic.
    #[arg(long)]
    pub topic: Option<String>,
    /// Only messages stored at or after TIME: ms, yyyy-MM-dd#HH:mm:ss:SSS (local) or RFC 3339.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only messages stored at or before TIME (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Leave the broker's own topics (TBW102, %RETRY%…, SCHEDULE_TOPIC_XXXX…) out instead of
    /// flagging them in the `system_topic` column.
    #[arg(long)]
    pub exclude_system_topics: bool,
    /// The trace topic (`msgTraceTopicName`): its messages' trace records are also written as
    /// rows of their own, `<out>/trace/<segment>.parquet`.
    #[arg(long, value_name = "TOPIC", default_value = sluice_remoting::trace::DEFAULT_TOPIC)]
    pub trace_topic: String,
}

/// What one export run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// The broker was running: only sealed segments were read.
    pub live: bool,
    pub segments: usize,
    pub files: Vec<PathBuf>,
    pub rows: u64,
    /// Trace rows written, and their files (`<out>/trace/<segment>.parquet`).
    pub trace_rows: u64,
    pub trace_files: Vec<PathBuf>,
    pub segment_bytes: u64,
    pub file_bytes: u64,
}

pub fn run(args: ExportArgs) -> Result<()> {
    let summary = export(&args)?;
    for f in summary.files.iter().chain(&summary.trace_files) {
        println!("{}", f.display());
    }
    println!(
        "{} rows from {} segments ({}) in {} files, {} MB of records → {} MB of Parquet",
        summary.rows,
        summary.segments,
        if summary.live {
            "sealed segments of a running broker"
        } else {
            "stopped broker, every segment"
        },
        summary.files.len(),
        summary.segment_bytes / 1_000_000,
        summary.file_bytes / 1_000_000
    );
    if summary.trace_rows > 0 {
        println!(
            "{} trace rows (records of {}) in {} files under {}",
            summary.trace_rows,
            args.trace_topic,
            summary.trace_files.len(),
            args.out.join(sluice_parquet::trace::TRACE_DIR).display()
        );
    }
    Ok(())
}

/// Runs the export described by `args`.
pub fn export(args: &ExportArgs) -> Result<ExportSummary> {
    let mut options = ExportOptions {
        topic: args.topic.clone(),
        since: args.since.as_deref().map(crate::time::parse_time).transpose()?,
        until: args.until.as_deref().map(crate::time::parse_time).transpose()?,
        system_topics: if args.exclude_system_topics {
            SystemTopics::Exclude
        } else {
            SystemTopics::Flag
        },
        trace_topic: Some(args.trace_topic.clone()),
        keep_empty: false,
        stop_at_invalid: false,
    };
    let commitlog = args.data_dir.join("commitlog");
    let files = list_segment_files(&commitlog)?;
    let Some((_, first)) = files.first() else {
        bail!("no CommitLog segment in {}", commitlog.display());
    };
    let segment_size = std::fs::metadata(first)
        .with_context(|| format!("reading {}", first.display()))?
        .len();
    // Held until the end: no broker starts on this directory while it is read.
    let lock = take_store_lock(&args.data_dir)?;
    let live = lock.is_none();
    let mut segments: Vec<PathBuf> = files.into_iter().map(|(_, p)| p).collect();
    if live {
        tracing::info!("the store is in use by a running broker: exporting its sealed segments");
        segments.pop();
    }
    let mut summary = ExportSummary {
        live,
        ..Default::default()
    };
    let mut bar = Progress::new(segments.len(), segment_size * segments.len() as u64);
    let count = segments.len();
    for (i, path) in segments.iter().enumerate() {
        // The newest segment of a stopped broker may end in a torn record (a crash mid-write):
        // the log ends there, as recovery would decide.
        options.stop_at_invalid = !live && i + 1 == count;
        let stats = match export_segment(path, &args.out, &options, &mut |done| bar.update(done)) {
            Ok(s) => s,
            // Retention of the running broker deleted it before it could be opened.
            Err(sluice_parquet::ArchiveError::Io { source, .. })
                if live && source.kind() == std::io::ErrorKind::NotFound =>
            {
                tracing::warn!(segment = %path.display(), "segment deleted meanwhile; skipped");
                bar.next_segment(segment_size);
                continue;
            }
            Err(e) => {
                bar.finish();
                return Err(e).with_context(|| format!("exporting {}", path.display()));
            }
        };
        bar.next_segment(segment_size);
        summary.segments += 1;
        summary.rows += stats.rows;
        summary.trace_rows += stats.trace_rows;
        summary.trace_files.extend(stats.trace_file);
        summary.segment_bytes += stats.segment_bytes;
        summary.file_bytes += stats.file_bytes;
        summary.files.extend(stats.file);
    }
    bar.finish();
    drop(lock);
    Ok(summary)
}

/// Takes the store's `lock` (the broker holds an exclusive flock on it while running). Returns
/// the locked file (none if there is no lock file), or `None` when a broker holds it.
fn take_store_lock(root: &Path) -> Result<Option<Option<File>>> {
    let path = root.join("lock");
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(None)),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    // SAFETY: flock on a descriptor we own; no memory is involved.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(Some(Some(file)));
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(None)
    } else {
        Err(err).with_context(|| format!("locking {}", path.display()))
    }
}

/// A one-line progress bar on stderr (only when stderr is a terminal).
struct Progress {
    tty: bool,
    segments: usize,
    segment: usize,
    total: u64,
    before: u64,
    started: Instant,
    last: Option<Instant>,
}

impl Progress {
    fn new(segments: usize, total: u64) -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            segments,
            segment: 0,
            total: total.max(1),
            before: 0,
            started: Instant::now(),
            last: None,
        }
    }

    fn update(&mut self, done_in_segment: u64) -> bool {
        if !self.tty
            || self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return true;
        }
        self.last = Some(Instant::now());
        let done = (self.before + done_in_segment).min(self.total);
        let width = 30;
        let filled = (done * width / self.total) as usize;
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let _ = write!(
            std::io::stderr(),
            "\r[{}{}] {:3}%  segment {}/{}  {:.0} MB/s ",
            "#".repeat(filled),
            ".".repeat(width as usize - filled),
            done * 100 / self.total,
            (self.segment + 1).min(self.segments),
            self.segments,
            done as f64 / secs / 1e6
        );
        true
    }

    fn next_segment(&mut self, size: u64) {
        self.before += size;
        self.segment += 1;
        self.last = None;
        self.update(0);
    }

    fn finish(&mut self) {
        if self.tty {
            let _ = writeln!(std::io::stderr());
        }
    }
}
