//! The RocketMQ "remoting" wire codec, as specified in `shared/docs/protocol.md`.
//!
//! A leaf crate: by default no tokio, no server logic; everything is a pure function of bytes.
//! The `net` feature adds `net`, the one tokio connection every side of sluice uses.
//!
//! * [`frame`] — the frame codec (§1.2–§1.5): [`RemotingCommand`], the incremental
//!   [`FrameDecoder`] (limits checked before anything is buffered, the body a zero-copy
//!   [`bytes::Bytes`]), JSON header encoding (what every client can read) and both header
//!   flavours on input (JSON and ROCKETMQ binary).
//! * [`codes`] — request codes (§2.1), response codes (§2.2), [`LanguageCode`] (§1.6) and
//!   version ordinals (§1.7).
//! * [`filter`] — SQL92 property filters (§7.7): RocketMQ's selector language, compiled once,
//!   evaluated against a message's properties.
//! * [`ext`] — typed, Java-lenient access to `extFields` (§1.8) and [`HeaderError`].
//! * [`header`] — one file per request family: typed request/response headers with
//!   `from_ext` / `to_ext` (§2.3).
//! * [`body`] — JSON bodies with serde (§2.3, §2.5), including fastjson's non-standard
//!   forms (§2.4): unquoted integer map keys and `MessageQueue` object keys.
//! * [`batch`] — the SEND_BATCH_MESSAGE body (§3.9), decoded into zero-copy records.
//! * [`message`] — the stored-message layout (§3.1–§3.3): what the CommitLog holds and PULL,
//!   QUERY and VIEW bodies carry; encode and zero-copy decode.
//! * [`properties`] — the property string (§3.5) and the property names (§3.6).
//! * [`ha_stream`] — the HA replication socket's two packets (§9.1): the slave's report and the
//!   master's transfer header (no remoting framing).
//! * [`ha_auto`] — the same socket in controller mode (5.x AutoSwitch, §9.4): handshake with
//!   epoch lists, transfer headers with epochs and confirm offset, acks.
//! * [`trace`] — the message-trace record format clients and the broker write into the trace
//!   topic.
//! * [`hash`] — Java `String.hashCode` (tag codes §3.8, IndexFile keys §4.4).
//! * [`msgid`] — offsetMsgId (§3.7); [`uniq`] — the UNIQ_KEY layout (§3.7).
//! * [`perm`] — topic permission bits (§2.3.22).
//! * [`lenient`] — serde helpers accepting fastjson's loose typing (numbers for strings …).
//! * `net` (feature `net`) — a remoting connection over tokio: opaque matching, coalesced
//!   writes, oneway, requests from either side; the accept loop and outbound connect.
//!
//! Nothing reachable from network input panics: malformed input is an error value.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod acl;
pub mod batch;
pub mod body;
pub mod codes;
pub mod ext;
pub mod filter;
pub mod frame;
pub mod ha_auto;
pub mod ha_stream;
pub mod hash;
pub mod header;
pub mod lenient;
pub mod message;
pub mod msgid;
#[cfg(feature = "net")]
pub mod net;
pub mod perm;
pub mod properties;
mod reader;
pub mod trace;
pub mod uniq;

pub use codes::language::LanguageCode;
pub use ext::{ExtFields, HeaderError};
pub use frame::{DecoderLimits, EncodeError, FrameDecoder, FrameError, RemotingCommand};
pub use header::CommandHeader;
