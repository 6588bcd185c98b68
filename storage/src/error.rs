//! The store's error type.

use std::path::PathBuf;

use crate::record::{DecodeError, EncodeError};

/// Everything the store can fail with. The broker turns these into RocketMQ response codes.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("message is {size} bytes; maxMessageSize is {max}")]
    MessageTooLarge { size: usize, max: usize },
    #[error("record of {size} bytes cannot fit in a CommitLog segment of {segment_size} bytes")]
    LargerThanSegment { size: usize, segment_size: u64 },
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("corrupted record at CommitLog offset {offset} in {}: {reason}", file.display())]
    Corrupted {
        offset: u64,
        file: PathBuf,
        reason: DecodeError,
    },
    #[error("offset {offset} is outside the readable range [{min}, {max})")]
    OffsetOutOfRange { offset: u64, min: u64, max: u64 },
    #[error("store layout: {0}")]
    Layout(String),
    #[error("metadata store: {0}")]
    Meta(#[from] rocksdb::Error),
    #[error("metadata value for {key}: {reason}")]
    MetaValue { key: String, reason: String },
    #[error("configuration: {0}")]
    Config(String),
    #[error("the store directory {} is locked by another process", .0.display())]
    Locked(PathBuf),
    #[error("the store is shut down")]
    Closed,
    #[error("replicated bytes start at CommitLog offset {got}, but this log ends at {expected}")]
    ReplicaOffset { expected: u64, got: u64 },
    #[error("flush did not complete within {0:?}")]
    FlushTimeout(std::time::Duration),
}

impl StoreError {
    /// True when the disk (or the user's quota) is full: the store is out of space, not broken,
    /// and takes writes again once space returns.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Io { source, .. } => {
                matches!(
                    source.kind(),
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                ) || matches!(source.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
            }
            StoreError::Meta(e) => e.to_string().contains("No space left on device"),
            _ => false,
        }
    }
}

/// Builds a closure that wraps an `io::Error` with what was being done.
pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Io { context, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_full_is_recognised() {
        let full = io_err("appending")(std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(full.is_disk_full());
        let other = io_err("appending")(std::io::Error::from_raw_os_error(libc::EIO));
        assert!(!other.is_disk_full());
        assert!(!StoreError::Closed.is_disk_full());
    }
}
