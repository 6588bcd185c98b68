//! Frame encoding (protocol.md §1.2). The server always writes JSON headers (§1.2: ali-ons
//! and rocketmq-client-cpp cannot read anything else).

use bytes::{BufMut, BytesMut};

use super::binary_header::write_rocketmq_header;
use super::json_header::write_json_header;
use super::{EncodeError, RemotingCommand, MAX_HEADER_LEN, SERIALIZE_JSON, SERIALIZE_ROCKETMQ};

/// Appends the whole frame of `cmd` (JSON header, then the body) to `buf`.
pub fn encode(cmd: &RemotingCommand, buf: &mut BytesMut) -> Result<(), EncodeError> {
    encode_head(cmd, buf)?;
    buf.extend_from_slice(&cmd.body);
    Ok(())
}

/// Appends everything of `cmd`'s frame except the body: `total_len` (which counts the body),
/// the type/length word and the JSON header. The caller then writes `cmd.body` itself — e.g.
/// with a vectored write of the zero-copy pull body. On error `buf` is left as it was.
pub fn encode_head(cmd: &RemotingCommand, buf: &mut BytesMut) -> Result<(), EncodeError> {
    encode_head_with_body_len(cmd, cmd.body.len(), buf)
}

/// Like [`encode_head`], for a body the caller writes as several chunks totalling `body_len`
/// bytes (`cmd.body` is ignored): a pull response's records straight from the CommitLog.
pub fn encode_head_with_body_len(
    cmd: &RemotingCommand,
    body_len: usize,
    buf: &mut BytesMut,
) -> Result<(), EncodeError> {
    let start = buf.len();
    buf.put_u64(0);
    write_json_header(cmd, buf);
    finish(buf, start, body_len, SERIALIZE_JSON)
}

/// Appends the frame of `cmd` with a ROCKETMQ binary header (§1.4) — for tests and tools; the
/// server never answers in this form. On error `buf` is left as it was.
pub fn encode_rocketmq_binary(cmd: &RemotingCommand, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let start = buf.len();
    buf.put_u64(0);
    if let Err(e) = write_rocketmq_header(cmd, buf) {
        buf.truncate(start);
        return Err(e);
    }
    finish(buf, start, cmd.body.len(), SERIALIZE_ROCKETMQ)?;
    buf.extend_from_slice(&cmd.body);
    Ok(())
}

/// Fills in the 8-byte prefix reserved at `start`, or rolls `buf` back on error.
fn finish(buf: &mut BytesMut, start: usize, body_len: usize, serialize_type: u8) -> Result<(), EncodeError> {
    let header_len = buf.len().saturating_sub(start + 8);
    if header_len > MAX_HEADER_LEN {
        buf.truncate(start);
        return Err(EncodeError::HeaderTooLarge(header_len));
    }
    let total = 4usize.saturating_add(header_len).saturating_add(body_len);
    let Ok(total_i32) = i32::try_from(total) else {
        buf.truncate(start);
        return Err(EncodeError::FrameTooLarge(total));
    };
    let word = (u32::from(serialize_type) << 24) | header_len as u32;
    let packed = (u64::from(total_i32 as u32) << 32) | u64::from(word);
    if let Some(prefix) = buf.get_mut(start..start + 8) {
        prefix.copy_from_slice(&packed.to_be_bytes());
    }
    Ok(())
}
