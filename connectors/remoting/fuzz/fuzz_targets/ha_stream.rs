//! Fuzzes the HA socket's packets (protocol.md §9.1, `sluice_remoting::ha_stream`) on arbitrary
//! bytes. As the master reads them (slave reports, taken in whatever pieces the socket gives):
//! every report taken is a whole 8-byte report of the stream, in order, the newest one is the
//! stream's last, and less than one report is left over. As the slave reads them (12-byte
//! headers, each followed by its bytes): a header parses or is refused, never panics; one that
//! parses has a size within the limit and writes back to the same 12 bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_remoting::ha_stream::{header, last_report, parse_header, HEADER_LEN, REPORT_LEN};

/// The master's side: `data` arrives cut at the given lengths.
fn master(data: &[u8], piece: usize) {
    let mut buf = Vec::new();
    let mut taken = Vec::new();
    for chunk in data.chunks(piece.max(1)) {
        buf.extend_from_slice(chunk);
        if let Some((offset, whole)) = last_report(&buf) {
            assert!(whole >= REPORT_LEN && whole % REPORT_LEN == 0 && whole <= buf.len());
            taken.push(offset);
            buf.drain(..whole);
        }
    }
    assert!(buf.len() < REPORT_LEN);
    assert_eq!(buf.len(), data.len() % REPORT_LEN);
    let sent: Vec<i64> = data
        .chunks_exact(REPORT_LEN)
        .map(|r| i64::from_be_bytes(r.try_into().expect("8 bytes")))
        .collect();
    let mut rest = sent.iter();
    for t in &taken {
        assert!(rest.any(|s| s == t), "report {t} taken out of order");
    }
    assert_eq!(taken.last(), sent.last());
}

/// The slave's side: headers and their bytes until the stream ends or a header is refused.
fn slave(mut data: &[u8], max: usize) {
    while let Some((head, rest)) = data.split_first_chunk::<HEADER_LEN>() {
        let Ok(h) = parse_header(head, max) else {
            return;
        };
        assert!(h.size <= max);
        assert_eq!(&header(h.offset, h.size as u32), head);
        let Some(rest) = rest.get(h.size..) else {
            return; // the bytes have not all arrived
        };
        data = rest;
    }
}

fuzz_target!(|data: &[u8]| {
    let piece = data.first().map_or(1, |&b| usize::from(b % 32) + 1);
    master(data, piece);
    master(data, data.len());
    slave(data, 64);
    slave(data, 1 << 20);
});
