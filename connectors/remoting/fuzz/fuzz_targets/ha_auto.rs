//! Fuzzes controller mode's HA packets (protocol.md §9.4, `sluice_remoting::ha_auto`) on
//! arbitrary bytes, as the two sides read them. The master: a 16-byte handshake, then 12-byte
//! acks — each parses or is refused, never panics, and one that parses encodes back to the same
//! bytes. The slave: the handshake answer (20-byte head, epoch entries) and then transfer
//! headers with their bytes; a body size over the limit is refused; the consistent point of any
//! two epoch lists is never past either log's end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_remoting::ha_auto::{
    ack, consistent_point, decode_ack, HandshakeRequest, HandshakeResponse, TransferHeader, ACK_LEN,
    HANDSHAKE_HEAD_LEN, HANDSHAKE_REQUEST_LEN, TRANSFER_HEAD_LEN,
};

fn master(data: &[u8]) {
    let Some((hs, mut rest)) = data.split_first_chunk::<HANDSHAKE_REQUEST_LEN>() else {
        return;
    };
    if let Ok(h) = HandshakeRequest::decode(hs) {
        // Booleans are any non-zero i16: the encoding is canonical only for 0 and 1.
        let back = h.encode();
        assert_eq!(back[..4], hs[..4]);
        assert_eq!(back[8..], hs[8..]);
    }
    while let Some((a, r)) = rest.split_first_chunk::<ACK_LEN>() {
        if let Ok(offset) = decode_ack(a) {
            assert_eq!(&ack(offset), a);
        }
        rest = r;
    }
}

fn slave(data: &[u8], max: usize) -> Option<()> {
    let (head, rest) = data.split_first_chunk::<HANDSHAKE_HEAD_LEN>()?;
    let (len, master_max, epoch) = HandshakeResponse::decode_head(head, max).ok()?;
    assert!(len <= max);
    let body = rest.get(..len)?;
    let answer = HandshakeResponse::with_body(master_max, epoch, body).ok()?;
    assert_eq!(answer.encode(), data[..HANDSHAKE_HEAD_LEN + len]);
    // The slave's own list: the master's, reversed and cut, as a stand-in for any list.
    let mine: Vec<_> = answer.epochs.iter().rev().copied().collect();
    let my_max = master_max / 2;
    if let Some(p) = consistent_point(&mine, my_max, &answer.epochs, master_max) {
        assert!(p <= my_max.max(master_max));
    }
    let mut rest = &rest[len..];
    while let Some((h, r)) = rest.split_first_chunk::<TRANSFER_HEAD_LEN>() {
        let t = TransferHeader::decode(h, max).ok()?;
        assert!(t.size <= max);
        assert_eq!(&t.encode(), h);
        rest = r.get(t.size..)?;
    }
    Some(())
}

fuzz_target!(|data: &[u8]| {
    master(data);
    let _ = slave(data, 64);
    let _ = slave(data, 1 << 20);
});
