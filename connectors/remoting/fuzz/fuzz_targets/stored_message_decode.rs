//! Fuzzes the stored-record decoder: any bytes must decode or fail with an error, and whatever
//! decodes must survive a re-encode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_remoting::message::{self as record, CrcCheck, Decoded, StoreStamp};

fuzz_target!(|data: &[u8]| {
    let _ = record::store_timestamp_at(data);
    if let Ok(Decoded::Message(r)) = record::decode(data, CrcCheck::Verify) {
        let mut out = Vec::new();
        let stamp = StoreStamp {
            queue_offset: r.queue_offset,
            physical_offset: r.physical_offset,
            store_timestamp: r.store_timestamp,
            store_host: r.store_host,
        };
        if record::encode(&mut out, &r.fields(), &stamp, Some(r.body_crc)).is_ok() {
            let again = record::decode_message(&out, CrcCheck::Verify).expect("re-encoded record decodes");
            assert_eq!(
                (again.topic, again.body, again.properties),
                (r.topic, r.body, r.properties)
            );
            assert_eq!(
                (again.queue_offset, again.physical_offset),
                (r.queue_offset, r.physical_offset)
            );
        }
    }
});
