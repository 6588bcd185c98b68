//! The HA socket of controller mode (RocketMQ 5.x `AutoSwitchHAService`, protocol.md §9.4):
//! the slave opens with a 16-byte HANDSHAKE naming its broker id; the master answers with its
//! max offset, its epoch and its epoch list, from which the slave finds where its log stops
//! agreeing; then TRANSFER headers (36 bytes, one epoch per batch, carrying the master's
//! confirm offset) with raw CommitLog bytes, and 12-byte ACKs from the slave. Big-endian, as
//! Java's `ByteBuffer`; no remoting framing.

/// State ordinals (`HAConnectionState`).
pub const HANDSHAKE: i32 = 1;
pub const TRANSFER: i32 = 2;

/// slave → master: state | isSyncFromLastFile i16 | isAsyncLearner i16 | slaveBrokerId i64.
pub const HANDSHAKE_REQUEST_LEN: usize = 16;
/// master → slave: state | bodySize | masterMaxOffset i64 | masterEpoch i32, then the body.
pub const HANDSHAKE_HEAD_LEN: usize = 20;
/// One epoch entry in the handshake body: epoch i32 | startOffset i64.
pub const EPOCH_ENTRY_LEN: usize = 12;
/// master → slave: state | bodySize | offset i64 | epoch i32 | epochStartOffset i64 |
/// confirmOffset i64, then `bodySize` bytes of CommitLog.
pub const TRANSFER_HEAD_LEN: usize = 36;
/// slave → master: state | maxOffset i64.
pub const ACK_LEN: usize = 12;

/// Why a packet cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AutoError {
    #[error("HA packet in state {got}, expected {want}")]
    State { got: i32, want: i32 },
    #[error("HA packet with a negative offset {0}")]
    NegativeOffset(i64),
    #[error("HA packet with a body of {0} bytes (at most {1})")]
    BadSize(i32, usize),
    #[error("handshake body of {0} bytes is not a whole number of epoch entries")]
    RaggedEpochs(usize),
}

fn i32_at(b: &[u8], at: usize) -> i32 {
    let mut x = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        x.copy_from_slice(s);
    }
    i32::from_be_bytes(x)
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut x = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        x.copy_from_slice(s);
    }
    i64::from_be_bytes(x)
}

fn state(b: &[u8], want: i32) -> Result<(), AutoError> {
    match i32_at(b, 0) {
        got if got == want => Ok(()),
        got => Err(AutoError::State { got, want }),
    }
}

fn offset(v: i64) -> Result<u64, AutoError> {
    u64::try_from(v).map_err(|_| AutoError::NegativeOffset(v))
}

/// The slave's opening packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeRequest {
    /// An empty slave asks to start at the master's last segment (else at offset 0).
    pub sync_from_last_file: bool,
    /// A learner replicates but never joins the SyncStateSet.
    pub async_learner: bool,
    pub slave_broker_id: i64,
}

impl HandshakeRequest {
    pub fn encode(&self) -> [u8; HANDSHAKE_REQUEST_LEN] {
        let mut b = [0u8; HANDSHAKE_REQUEST_LEN];
        b[..4].copy_from_slice(&HANDSHAKE.to_be_bytes());
        b[4..6].copy_from_slice(&i16::from(self.sync_from_last_file).to_be_bytes());
        b[6..8].copy_from_slice(&i16::from(self.async_learner).to_be_bytes());
        b[8..].copy_from_slice(&self.slave_broker_id.to_be_bytes());
        b
    }

    pub fn decode(b: &[u8; HANDSHAKE_REQUEST_LEN]) -> Result<HandshakeRequest, AutoError> {
        state(b, HANDSHAKE)?;
        Ok(HandshakeRequest {
            sync_from_last_file: u16::from_be_bytes([b[4], b[5]]) != 0,
            async_learner: u16::from_be_bytes([b[6], b[7]]) != 0,
            slave_broker_id: i64_at(b, 8),
        })
    }
}

/// One epoch of a CommitLog: what was written from `start_offset` on under master epoch `epoch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Epoch {
    pub epoch: i32,
    pub start_offset: u64,
}

/// The master's answer to a handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeResponse {
    pub master_max_offset: u64,
    pub master_epoch: i32,
    pub epochs: Vec<Epoch>,
}

impl HandshakeResponse {
    pub fn encode(&self) -> Vec<u8> {
        let body = self.epochs.len() * EPOCH_ENTRY_LEN;
        let mut b = Vec::with_capacity(HANDSHAKE_HEAD_LEN + body);
        b.extend_from_slice(&HANDSHAKE.to_be_bytes());
        b.extend_from_slice(&(body as i32).to_be_bytes());
        b.extend_from_slice(&(self.master_max_offset as i64).to_be_bytes());
        b.extend_from_slice(&self.master_epoch.to_be_bytes());
        for e in &self.epochs {
            b.extend_from_slice(&e.epoch.to_be_bytes());
            b.extend_from_slice(&(e.start_offset as i64).to_be_bytes());
        }
        b
    }

    /// The head: the body's size (at most `max_body`), then [`HandshakeResponse::with_body`].
    pub fn decode_head(
        h: &[u8; HANDSHAKE_HEAD_LEN],
        max_body: usize,
    ) -> Result<(usize, u64, i32), AutoError> {
        state(h, HANDSHAKE)?;
        let size = i32_at(h, 4);
        let body = usize::try_from(size)
            .ok()
            .filter(|s| *s <= max_body)
            .ok_or(AutoError::BadSize(size, max_body))?;
        if !body.is_multiple_of(EPOCH_ENTRY_LEN) {
            return Err(AutoError::RaggedEpochs(body));
        }
        Ok((body, offset(i64_at(h, 8))?, i32_at(h, 16)))
    }

    pub fn with_body(max_offset: u64, epoch: i32, body: &[u8]) -> Result<HandshakeResponse, AutoError> {
        if !body.len().is_multiple_of(EPOCH_ENTRY_LEN) {
            return Err(AutoError::RaggedEpochs(body.len()));
        }
        let epochs = body
            .chunks_exact(EPOCH_ENTRY_LEN)
            .map(|c| {
                Ok(Epoch {
                    epoch: i32_at(c, 0),
                    start_offset: offset(i64_at(c, 4))?,
                })
            })
            .collect::<Result<_, AutoError>>()?;
        Ok(HandshakeResponse {
            master_max_offset: max_offset,
            master_epoch: epoch,
            epochs,
        })
    }
}

/// A transfer's header (`size` 0: a heartbeat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferHeader {
    pub size: usize,
    pub offset: u64,
    pub epoch: i32,
    pub epoch_start_offset: u64,
    pub confirm_offset: u64,
}

impl TransferHeader {
    pub fn encode(&self) -> [u8; TRANSFER_HEAD_LEN] {
        let mut b = [0u8; TRANSFER_HEAD_LEN];
        b[..4].copy_from_slice(&TRANSFER.to_be_bytes());
        b[4..8].copy_from_slice(&(self.size as i32).to_be_bytes());
        b[8..16].copy_from_slice(&(self.offset as i64).to_be_bytes());
        b[16..20].copy_from_slice(&self.epoch.to_be_bytes());
        b[20..28].copy_from_slice(&(self.epoch_start_offset as i64).to_be_bytes());
        b[28..].copy_from_slice(&(self.confirm_offset as i64).to_be_bytes());
        b
    }

    /// Refuses a body over `max` (a sane master sends at most its batch size).
    pub fn decode(b: &[u8; TRANSFER_HEAD_LEN], max: usize) -> Result<TransferHeader, AutoError> {
        state(b, TRANSFER)?;
        let size = i32_at(b, 4);
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= max)
            .ok_or(AutoError::BadSize(size, max))?;
        Ok(TransferHeader {
            size,
            offset: offset(i64_at(b, 8))?,
            epoch: i32_at(b, 16),
            epoch_start_offset: offset(i64_at(b, 20))?,
            confirm_offset: offset(i64_at(b, 28))?,
        })
    }
}

/// The slave's acknowledgement of `max_offset`.
pub fn ack(max_offset: u64) -> [u8; ACK_LEN] {
    let mut b = [0u8; ACK_LEN];
    b[..4].copy_from_slice(&TRANSFER.to_be_bytes());
    b[4..].copy_from_slice(&(max_offset as i64).to_be_bytes());
    b
}

pub fn decode_ack(b: &[u8; ACK_LEN]) -> Result<u64, AutoError> {
    state(b, TRANSFER)?;
    offset(i64_at(b, 4))
}

/// The epoch of `list` (oldest first) that wrote `offset`: the newest one starting at or before it.
pub fn epoch_at(list: &[Epoch], offset: u64) -> Option<Epoch> {
    list.iter().rev().find(|e| e.start_offset <= offset).copied()
}

/// Where the epoch holding `offset` ends: the next epoch's start (`None`: it is the last).
pub fn epoch_end(list: &[Epoch], offset: u64) -> Option<u64> {
    list.iter()
        .find(|e| e.start_offset > offset)
        .map(|e| e.start_offset)
}

/// Where a slave's log stops agreeing with its master's (5.x `findLastConsistentPoint`): for
/// the newest of the slave's epochs that the master has with the same start, the smaller of the
/// two ends of that epoch (an epoch ends where the next begins; the last at the log's max
/// offset). `None`: no epoch in common.
pub fn consistent_point(mine: &[Epoch], my_max: u64, master: &[Epoch], master_max: u64) -> Option<u64> {
    let end = |list: &[Epoch], i: usize, max: u64| list.get(i + 1).map_or(max, |n| n.start_offset);
    mine.iter().enumerate().rev().find_map(|(i, e)| {
        let j = master
            .iter()
            .position(|m| m.epoch == e.epoch && m.start_offset == e.start_offset)?;
        Some(end(mine, i, my_max).min(end(master, j, master_max)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(epoch: i32, start_offset: u64) -> Epoch {
        Epoch { epoch, start_offset }
    }

    #[test]
    fn packets_round_trip_with_java_layout() {
        let h = HandshakeRequest {
            sync_from_last_file: true,
            async_learner: false,
            slave_broker_id: 3,
        };
        let b = h.encode();
        assert_eq!(b, [0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
        assert_eq!(HandshakeRequest::decode(&b), Ok(h));

        let r = HandshakeResponse {
            master_max_offset: 4096,
            master_epoch: 2,
            epochs: vec![ep(1, 0), ep(2, 1000)],
        };
        let b = r.encode();
        assert_eq!(b.len(), HANDSHAKE_HEAD_LEN + 2 * EPOCH_ENTRY_LEN);
        let mut head = [0u8; HANDSHAKE_HEAD_LEN];
        head.copy_from_slice(&b[..HANDSHAKE_HEAD_LEN]);
        let (body, max, epoch) = HandshakeResponse::decode_head(&head, 1024).unwrap();
        assert_eq!((body, max, epoch), (24, 4096, 2));
        assert_eq!(
            HandshakeResponse::with_body(max, epoch, &b[HANDSHAKE_HEAD_LEN..]),
            Ok(r)
        );
        assert_eq!(
            HandshakeResponse::decode_head(&head, 12),
            Err(AutoError::BadSize(24, 12))
        );

        let t = TransferHeader {
            size: 32 * 1024,
            offset: 1 << 33,
            epoch: 7,
            epoch_start_offset: 1 << 30,
            confirm_offset: 99,
        };
        assert_eq!(TransferHeader::decode(&t.encode(), 32 * 1024), Ok(t));
        assert!(TransferHeader::decode(&t.encode(), 1024).is_err());
        assert_eq!(decode_ack(&ack(77)), Ok(77));
        assert_eq!(
            decode_ack(
                &HandshakeRequest::decode(&b[..16].try_into().unwrap())
                    .map(|_| [0u8; 12])
                    .unwrap_or([0u8; 12])
            ),
            Err(AutoError::State { got: 0, want: 2 })
        );
    }

    #[test]
    fn the_consistent_point_is_the_end_of_the_last_shared_epoch() {
        // An old master of epoch 1 wrote to 1500; the new master took over at 1200 (epoch 2).
        let old = [ep(1, 0)];
        let new = [ep(1, 0), ep(2, 1200)];
        assert_eq!(consistent_point(&old, 1500, &new, 3000), Some(1200));
        // A slave behind the switch keeps all it has.
        assert_eq!(consistent_point(&old, 900, &new, 3000), Some(900));
        // Same history: nothing to cut.
        assert_eq!(consistent_point(&new, 2500, &new, 3000), Some(2500));
        // An epoch with another start is not shared.
        assert_eq!(
            consistent_point(&[ep(1, 0), ep(2, 1300)], 2000, &new, 3000),
            Some(1200)
        );
        assert_eq!(consistent_point(&[ep(5, 0)], 10, &new, 3000), None);
        assert_eq!(consistent_point(&[], 0, &new, 3000), None);
    }

    proptest::proptest! {
        #[test]
        fn any_transfer_header_parses_or_is_refused(
            b in proptest::collection::vec(proptest::num::u8::ANY, TRANSFER_HEAD_LEN),
            max in 0usize..1 << 20,
        ) {
            let mut h = [0u8; TRANSFER_HEAD_LEN];
            h.copy_from_slice(&b);
            if let Ok(t) = TransferHeader::decode(&h, max) {
                proptest::prop_assert!(t.size <= max);
                proptest::prop_assert_eq!(t.encode(), h);
            }
        }
    }
}
