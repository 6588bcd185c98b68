//! The archive's error type.

use std::path::PathBuf;

/// Everything exporting, archiving or reading back can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("segment {} at offset {offset}: {reason}", file.display())]
    Corrupt {
        file: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error(transparent)]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error(transparent)]
    Store(#[from] sluice_storage::StoreError),
    #[error("archive file {}: {reason}", file.display())]
    BadArchive { file: PathBuf, reason: String },
    #[error("export of {} cancelled", .0.display())]
    Cancelled(PathBuf),
}

/// Builds a closure that wraps an `io::Error` with what was being done.
pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ArchiveError {
    let context = context.into();
    move |source| ArchiveError::Io { context, source }
}
