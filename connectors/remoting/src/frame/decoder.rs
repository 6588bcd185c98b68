//! The incremental frame decoder (protocol.md §1.2).
//!
//! Lengths are validated as soon as their bytes are there — `total_len` with 4 bytes, the
//! header word with 8 — so an oversized or malformed frame is rejected before a single byte
//! of it is buffered or reserved. A complete frame is split off the read buffer; its body is
//! frozen into a [`Bytes`](bytes::Bytes) that shares the buffer's memory (no copy).

use bytes::{Buf, BytesMut};

use super::binary_header::{decode_rocketmq_header, salvage_rocketmq_header};
use super::json_header::{decode_json_header, salvage_json_header};
use super::{
    FrameError, RemotingCommand, DEFAULT_MAX_BODY, DEFAULT_MAX_FRAME, MIN_JSON_HEADER_LEN,
    MIN_ROCKETMQ_HEADER_LEN, SERIALIZE_JSON, SERIALIZE_ROCKETMQ,
};

/// How much spare capacity the decoder asks for at most while a frame is incomplete. Larger
/// frames grow the buffer as their bytes arrive, so an idle peer that announced 16 MiB costs
/// no more than this.
const RESERVE_CHUNK: usize = 256 * 1024;

/// Size limits, checked before anything is buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderLimits {
    /// Largest `total_len` + 4 accepted; default 16 MiB (§1.1). Larger → the connection must
    /// be closed ([`FrameError::FrameTooLarge`]).
    pub max_frame: usize,
    /// Largest body accepted; default 4 MiB, the broker's `maxMessageSize` (§2.3.1), which also
    /// bounds a whole batch (§3.9). Larger → [`FrameError::BodyTooLarge`], after which the body
    /// is skipped and the connection stays usable.
    ///
    /// The default suits a broker's client port. A broker that raises `maxMessageSize` (large
    /// messages or batches) raises this to match; a namesrv (REGISTER_BROKER bodies grow with
    /// the topic count) and a client (pull responses carry up to 32 messages) should raise it,
    /// typically to `max_frame`.
    pub max_body: usize,
}

impl Default for DecoderLimits {
    fn default() -> Self {
        DecoderLimits {
            max_frame: DEFAULT_MAX_FRAME,
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At a frame boundary.
    Boundary,
    /// Discarding the rest of an oversized body.
    Skipping { remaining: usize },
}

/// Decodes frames from a connection's read buffer. Keep one per connection.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    limits: DecoderLimits,
    state: State,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(DecoderLimits::default())
    }
}

impl FrameDecoder {
    /// A decoder with the given limits.
    pub fn new(limits: DecoderLimits) -> Self {
        FrameDecoder {
            limits,
            state: State::Boundary,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> DecoderLimits {
        self.limits
    }

    /// Changes the limits (takes effect from the next frame).
    pub fn set_limits(&mut self, limits: DecoderLimits) {
        self.limits = limits;
    }

    /// True while the body of a rejected oversized frame is being discarded.
    pub fn is_skipping(&self) -> bool {
        matches!(self.state, State::Skipping { .. })
    }

    /// Takes the next complete frame off the front of `buf`.
    ///
    /// * `Ok(Some(cmd))` — one frame consumed; call again for the next.
    /// * `Ok(None)` — more bytes are needed (nothing was consumed except skipped body bytes).
    /// * `Err(e)` — see [`FrameError::must_close`]. When it is false the offending frame has
    ///   been (or is being) consumed and decoding can go on.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<RemotingCommand>, FrameError> {
        if let State::Skipping { remaining } = self.state {
            let n = remaining.min(buf.len());
            buf.advance(n);
            if remaining > n {
                self.state = State::Skipping {
                    remaining: remaining - n,
                };
                return Ok(None);
            }
            self.state = State::Boundary;
        }

        let Some(total_len) = read_i32(buf, 0) else {
            return Ok(None);
        };
        if total_len < 4 {
            return Err(FrameError::LengthTooSmall(total_len));
        }
        let total_len = total_len as usize; // non-negative, checked above
        let frame_len = total_len + 4;
        if frame_len > self.limits.max_frame {
            return Err(FrameError::FrameTooLarge {
                len: frame_len,
                max: self.limits.max_frame,
            });
        }
        let Some(word) = read_i32(buf, 4) else {
            return Ok(None);
        };
        let word = word as u32;
        let serialize_type = (word >> 24) as u8;
        let header_len = (word & 0x00FF_FFFF) as usize;
        let min_header = match serialize_type {
            SERIALIZE_JSON => MIN_JSON_HEADER_LEN,
            SERIALIZE_ROCKETMQ => MIN_ROCKETMQ_HEADER_LEN,
            other => return Err(FrameError::UnknownSerializeType(other)),
        };
        if header_len < min_header || header_len > total_len - 4 {
            return Err(FrameError::BadHeaderLength {
                header_len,
                total_len,
                serialize_type,
            });
        }
        let body_len = total_len - 4 - header_len;

        if body_len > self.limits.max_body {
            // Decode the header so the caller can answer, then discard the body.
            let head_len = 8 + header_len;
            if buf.len() < head_len {
                reserve(buf, head_len);
                return Ok(None);
            }
            let mut head = buf.split_to(head_len);
            head.advance(8);
            let n = body_len.min(buf.len());
            buf.advance(n);
            if body_len > n {
                self.state = State::Skipping {
                    remaining: body_len - n,
                };
            }
            let command = decode_header(serialize_type, &head)?;
            return Err(FrameError::BodyTooLarge {
                command: Box::new(command),
                len: body_len,
                max: self.limits.max_body,
            });
        }

        if buf.len() < frame_len {
            reserve(buf, frame_len);
            return Ok(None);
        }
        let mut frame = buf.split_to(frame_len);
        frame.advance(8);
        let header = frame.split_to(header_len);
        let mut command = decode_header(serialize_type, &header)?;
        command.body = frame.freeze();
        Ok(Some(command))
    }
}

fn read_i32(buf: &[u8], at: usize) -> Option<i32> {
    let bytes = buf.get(at..at + 4)?;
    Some(i32::from_be_bytes(bytes.try_into().ok()?))
}

/// Makes room for the rest of a frame of `needed` bytes, at most [`RESERVE_CHUNK`] at a time.
fn reserve(buf: &mut BytesMut, needed: usize) {
    let missing = needed.saturating_sub(buf.len());
    buf.reserve(missing.min(RESERVE_CHUNK));
}

/// Decodes a header; when it does not parse, keeps what can still identify the request.
fn decode_header(serialize_type: u8, header: &[u8]) -> Result<RemotingCommand, FrameError> {
    let decoded = if serialize_type == SERIALIZE_ROCKETMQ {
        decode_rocketmq_header(header)
    } else {
        decode_json_header(header)
    };
    decoded.map_err(|source| FrameError::Header {
        salvaged: salvage(serialize_type, header).map(Box::new),
        source,
    })
}

/// The code, opaque and flag of a header that did not decode, when they can be read.
fn salvage(serialize_type: u8, header: &[u8]) -> Option<RemotingCommand> {
    if serialize_type == SERIALIZE_ROCKETMQ {
        salvage_rocketmq_header(header)
    } else {
        salvage_json_header(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{encode, encode_rocketmq_binary};

    fn frame_of(cmd: &RemotingCommand) -> BytesMut {
        let mut b = BytesMut::new();
        encode(cmd, &mut b).unwrap();
        b
    }

    #[test]
    fn body_is_zero_copy() {
        let cmd = RemotingCommand::request(10).with_body(vec![7u8; 100]);
        let mut buf = frame_of(&cmd);
        let base = buf.as_ptr() as usize;
        let len = buf.len();
        let got = FrameDecoder::default().decode(&mut buf).unwrap().unwrap();
        let body_at = got.body.as_ptr() as usize;
        assert!(
            body_at >= base && body_at + got.body.len() <= base + len,
            "body was copied"
        );
        assert_eq!(got, cmd);
        assert!(buf.is_empty());
    }

    #[test]
    fn oversized_body_is_answered_and_skipped() {
        let limits = DecoderLimits {
            max_frame: 1 << 20,
            max_body: 10,
        };
        let mut dec = FrameDecoder::new(limits);
        let big = RemotingCommand::request(310)
            .with_opaque(9)
            .with_body(vec![1u8; 50]);
        let next = RemotingCommand::request(34).with_opaque(10);
        let mut stream = frame_of(&big);
        let mut tmp = BytesMut::new();
        encode_rocketmq_binary(&next, &mut tmp).unwrap();
        stream.extend_from_slice(&tmp);
        // Feed in 7-byte pieces.
        let mut buf = BytesMut::new();
        let mut errors = Vec::new();
        let mut got = Vec::new();
        for chunk in stream.chunks(7) {
            buf.extend_from_slice(chunk);
            loop {
                match dec.decode(&mut buf) {
                    Ok(Some(c)) => got.push(c),
                    Ok(None) => break,
                    Err(e) => {
                        assert!(!e.must_close());
                        errors.push(e);
                    }
                }
            }
        }
        assert_eq!(errors.len(), 1);
        match &errors[0] {
            FrameError::BodyTooLarge { command, len, max } => {
                assert_eq!((command.code, command.opaque, *len, *max), (310, 9, 50, 10));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(got, vec![next]);
        assert!(!dec.is_skipping());
    }

    #[test]
    fn limits_are_checked_before_buffering() {
        let mut dec = FrameDecoder::default();
        // 4 bytes suffice to reject a huge or negative total_len.
        for bad in [i32::MAX, (16 << 20) - 3, -1, 0, 3] {
            let mut buf = BytesMut::from(&bad.to_be_bytes()[..]);
            let cap = buf.capacity();
            let err = dec.decode(&mut buf).unwrap_err();
            assert!(err.must_close(), "{err}");
            assert_eq!(buf.capacity(), cap);
        }
        // Exactly 16 MiB is accepted (total_len = 16 MiB - 4).
        let mut buf = BytesMut::from(&((16i32 << 20) - 4).to_be_bytes()[..]);
        assert!(dec.decode(&mut buf).unwrap().is_none());
        // Header longer than the frame, unknown serialize type, too-short binary header.
        for (total, word) in [(10i32, 7u32), (100, 0x0200_0010), (30, 0x0100_0005), (30, 0)] {
            let mut buf = BytesMut::new();
            buf.extend_from_slice(&total.to_be_bytes());
            buf.extend_from_slice(&word.to_be_bytes());
            let err = dec.decode(&mut buf).unwrap_err();
            assert!(err.must_close(), "{err}");
        }
    }

    #[test]
    fn malformed_header_keeps_stream_in_sync() {
        let mut buf = BytesMut::new();
        let junk = b"{not json";
        buf.extend_from_slice(&((4 + junk.len()) as i32).to_be_bytes());
        buf.extend_from_slice(&(junk.len() as u32).to_be_bytes());
        buf.extend_from_slice(junk);
        let ok = RemotingCommand::request(30);
        buf.extend_from_slice(&frame_of(&ok));
        let mut dec = FrameDecoder::default();
        let err = dec.decode(&mut buf).unwrap_err();
        assert!(matches!(err, FrameError::Header { salvaged: None, .. }) && err.must_close());
        assert_eq!(dec.decode(&mut buf).unwrap(), Some(ok));
    }

    #[test]
    fn malformed_header_salvages_the_opaque() {
        let mut dec = FrameDecoder::default();
        let json_frame = |junk: &[u8]| {
            let mut buf = BytesMut::new();
            buf.extend_from_slice(&((4 + junk.len()) as i32).to_be_bytes());
            buf.extend_from_slice(&(junk.len() as u32).to_be_bytes());
            buf.extend_from_slice(junk);
            buf
        };
        let mut buf = json_frame(br#"{"code":"abc","opaque":77,"flag":2}"#);
        match dec.decode(&mut buf).unwrap_err() {
            e @ FrameError::Header {
                salvaged: Some(_), ..
            } => {
                assert!(!e.must_close());
                let FrameError::Header {
                    salvaged: Some(c), ..
                } = e
                else {
                    unreachable!()
                };
                assert_eq!((c.opaque, c.is_oneway()), (77, true));
            }
            other => panic!("unexpected {other:?}"),
        }
        for junk in [
            &br#"{"code":"abc"}"#[..],
            b"not json",
            br#"{"code":10,"opaque":5"#,
            br#"{"opaque":"x"}"#,
        ] {
            let mut buf = json_frame(junk);
            let e = dec.decode(&mut buf).unwrap_err();
            assert!(e.must_close(), "{junk:?}: {e}");
        }
        // Binary header: opaque and flag are at fixed offsets; the remark length is negative.
        let mut head = Vec::new();
        head.extend_from_slice(&10i16.to_be_bytes());
        head.push(0);
        head.extend_from_slice(&409i16.to_be_bytes());
        head.extend_from_slice(&31i32.to_be_bytes());
        head.extend_from_slice(&0i32.to_be_bytes());
        head.extend_from_slice(&(-5i32).to_be_bytes());
        head.extend_from_slice(&0i32.to_be_bytes());
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&((4 + head.len()) as i32).to_be_bytes());
        buf.extend_from_slice(&(0x0100_0000u32 | head.len() as u32).to_be_bytes());
        buf.extend_from_slice(&head);
        match dec.decode(&mut buf).unwrap_err() {
            FrameError::Header {
                salvaged: Some(c), ..
            } => assert_eq!((c.code, c.opaque), (10, 31)),
            other => panic!("unexpected {other:?}"),
        }
    }
}
