//! Errors of the frame codec.

use super::RemotingCommand;

/// A frame the decoder refuses. [`FrameError::must_close`] says whether the byte stream is
/// still in sync (the broker may go on reading) or the connection must be closed.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// `total_len` is negative or smaller than the 4-byte second word (§1.2).
    #[error("frame length {0} is below the minimum of 4")]
    LengthTooSmall(i32),
    /// `total_len` exceeds the frame limit (16 MiB by default, §1.1).
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge { len: usize, max: usize },
    /// The serialize-type byte is neither 0 (JSON) nor 1 (ROCKETMQ).
    #[error("unknown header serialize type {0}")]
    UnknownSerializeType(u8),
    /// The header length does not fit the frame, or is shorter than any valid header.
    #[error("header length {header_len} is invalid for a frame of length {total_len} (serialize type {serialize_type})")]
    BadHeaderLength {
        header_len: usize,
        total_len: usize,
        serialize_type: u8,
    },
    /// The body exceeds the body limit. The header was decoded and is returned so the caller
    /// can answer (e.g. MESSAGE_ILLEGAL); the decoder discards the body bytes as they arrive
    /// and then continues with the next frame. The stream stays in sync.
    #[error("body of {len} bytes exceeds the limit of {max} bytes (code {}, opaque {})", .command.code, .command.opaque)]
    BodyTooLarge {
        command: Box<RemotingCommand>,
        len: usize,
        max: usize,
    },
    /// The frame was well delimited but its header does not parse. The whole frame has been
    /// consumed, so the stream stays in sync. `salvaged` holds the code, opaque and flag when
    /// they could still be read (a JSON object with an integer `opaque`, a binary header of at
    /// least 13 bytes): the request can then be answered. Without them nothing can be matched
    /// to a request, and the connection must be closed as Java closes it.
    #[error("malformed header: {source}")]
    Header {
        source: HeaderDecodeError,
        salvaged: Option<Box<RemotingCommand>>,
    },
}

impl FrameError {
    /// True when the byte stream can no longer be trusted (or a hard limit was exceeded), or
    /// the peer cannot be answered, and the connection must be closed. False for
    /// [`FrameError::BodyTooLarge`] and for a [`FrameError::Header`] whose opaque was salvaged,
    /// after which decoding can continue.
    pub fn must_close(&self) -> bool {
        !matches!(
            self,
            FrameError::BodyTooLarge { .. }
                | FrameError::Header {
                    salvaged: Some(_),
                    ..
                }
        )
    }
}

/// A header that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum HeaderDecodeError {
    /// JSON header (§1.3) is not valid JSON or has badly typed fields.
    #[error("JSON header: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON header is not a JSON object.
    #[error("JSON header is not an object")]
    NotAnObject,
    /// Binary header (§1.4) ends before `what`.
    #[error("ROCKETMQ header truncated while reading {what}")]
    Truncated { what: &'static str },
    /// Binary header has a negative length for `what`.
    #[error("ROCKETMQ header has negative length {len} for {what}")]
    NegativeLength { what: &'static str, len: i32 },
    /// Binary header has text that is not UTF-8.
    #[error("ROCKETMQ header: {what} is not UTF-8")]
    Utf8 { what: &'static str },
    /// Binary header has bytes left over after the ext map.
    #[error("ROCKETMQ header has {0} trailing bytes")]
    TrailingBytes(usize),
}

impl From<crate::reader::Short> for HeaderDecodeError {
    fn from(s: crate::reader::Short) -> Self {
        HeaderDecodeError::Truncated { what: s.what }
    }
}

/// A command that cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The header is longer than the 24-bit length field allows.
    #[error("header of {0} bytes exceeds the 24-bit length field")]
    HeaderTooLarge(usize),
    /// `total_len` would not fit an i32.
    #[error("frame of {0} bytes exceeds i32::MAX")]
    FrameTooLarge(usize),
    /// A value does not fit its binary-header field (code/version are i16, key length i16 …).
    #[error("{what} = {value} does not fit the ROCKETMQ binary header")]
    OutOfRange { what: &'static str, value: i64 },
}
