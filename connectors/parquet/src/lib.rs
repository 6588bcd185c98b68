//! sluice's archive: sealed CommitLog segments as Parquet files, one row per message, so that
//! DuckDB, pandas or Polars read aged data instead of it being deleted (design.md §3).
//!
//! * [`schema`] — the columns and their Arrow types.
//! * [`scan`] — a segment file read directly (read-only mapping), record by record.
//! * [`rows`] — records → Arrow record batches.
//! * [`export`] — one segment → one Parquet file (`<20-digit start offset>.parquet`), written
//!   atomically, with topic / time filters and the broker's own topics flagged or left out.
//! * [`archived`] — Parquet rows back as messages, re-encoded as stored records.
//! * [`lookup`] — finding archived messages by key or CommitLog offset through the manifest.
//! * [`archiver`] — the [`SegmentHold`](sluice_storage::retention::SegmentHold) retention
//!   consults: a segment is deleted only once its manifest entry is durable.
//! * [`system`] — which topics are the broker's own.
//! * [`trace`] — the trace topic's records as rows of their own (`trace/<segment>.parquet`).

pub mod archived;
pub mod archiver;
mod columns;
pub mod error;
pub mod export;
pub mod lookup;
pub mod rows;
pub mod scan;
pub mod schema;
pub mod system;
pub mod trace;

pub use archiver::Archiver;
pub use error::ArchiveError;
pub use export::{export_segment, ExportOptions, ExportStats, SystemTopics};
