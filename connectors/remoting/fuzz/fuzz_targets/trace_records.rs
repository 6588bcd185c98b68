//! Fuzzes the message-trace record parser ([`sluice_remoting::trace`]): trace topic bodies are
//! whatever clients sent, so any text must parse without a panic, the same way twice, and no
//! parsed field may hold a separator.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_remoting::trace::{self, FIELD, RECORD_END};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let records = trace::parse(text);
    assert_eq!(records, trace::parse(text), "parsing is deterministic");
    for r in &records {
        for field in [
            &r.msg_id,
            &r.region,
            &r.group,
            &r.topic,
            &r.tags,
            &r.keys,
            &r.store_host,
            &r.message_type,
            &r.offset_msg_id,
            &r.request_id,
            &r.transaction_id,
            &r.transaction_state,
        ] {
            assert!(!field.contains([FIELD, RECORD_END]), "{field:?} in {r:?}");
        }
    }
});
