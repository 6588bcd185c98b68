//! The frame codec, protocol.md §1.2–§1.5.
//!
//! ```text
//!  0               4               8                     8+H            8+H+B
//!  +---------------+---------------+---------------------+--------------+
//!  |  total_len    | ser_type|hlen |  header (H bytes)   |  body (B)    |
//!  |  i32 BE       | u8  | u24 BE  |  JSON or ROCKETMQ   |  opaque      |
//!  +---------------+---------------+---------------------+--------------+
//! ```
//!
//! `total_len = 4 + H + B` (it does not count itself). Input: both header types. Output:
//! always JSON ([`encode`]), because ali-ons and rocketmq-client-cpp cannot read anything else
//! (§1.2); [`encode_rocketmq_binary`] exists for tests and tools.

mod binary_header;
mod command;
mod decoder;
mod encode;
mod error;
pub(crate) mod json_header;

pub use binary_header::{decode_rocketmq_header, write_rocketmq_header};
pub use command::RemotingCommand;
pub use decoder::{DecoderLimits, FrameDecoder};
pub use encode::{encode, encode_head, encode_head_with_body_len, encode_rocketmq_binary};
pub use error::{EncodeError, FrameError, HeaderDecodeError};
pub use json_header::{decode_json_header, write_json_header};

/// Serialize type byte of a JSON header (§1.2).
pub const SERIALIZE_JSON: u8 = 0;
/// Serialize type byte of a ROCKETMQ binary header (§1.2, §1.4).
pub const SERIALIZE_ROCKETMQ: u8 = 1;

/// `flag` bit 0: the command is a response (§1.5).
pub const FLAG_RESPONSE: i32 = 0x1;
/// `flag` bit 1: oneway request — the receiver must not reply (§1.5).
pub const FLAG_ONEWAY: i32 = 0x2;

/// Java's `com.rocketmq.remoting.frameMaxLength`: 16 MiB (§1.1). Larger frames close the
/// connection.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;
/// Default body limit: 4 MiB, the broker's `maxMessageSize` (§2.3.1; a batch body must fit it
/// too, §3.9).
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

/// Largest header length the 24-bit field can express.
pub const MAX_HEADER_LEN: usize = 0x00FF_FFFF;
/// A ROCKETMQ binary header has 21 fixed bytes (§1.4).
pub const MIN_ROCKETMQ_HEADER_LEN: usize = 21;
/// The shortest JSON header is `{}`.
pub const MIN_JSON_HEADER_LEN: usize = 2;
