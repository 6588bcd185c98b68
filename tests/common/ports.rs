//! Ports for brokers the tests start. A broker binds three: its listen port P, the VIP port
//! P − 2 and the HA port P + 1. The kernel hands out ephemeral ports of one parity, often two
//! apart, so two ports picked one after the other can make one broker's VIP port another's
//! listen port. Every port handed out here reserves P − 2 ..= P + 1 for the rest of the test
//! process, and only a port whose whole block is free and unreserved is handed out.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

fn reserved() -> std::sync::MutexGuard<'static, HashSet<u16>> {
    static RESERVED: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    RESERVED
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn bindable(p: u16) -> bool {
    TcpListener::bind(("127.0.0.1", p)).is_ok()
}

/// A free port P such that P − 2 ..= P + 1 are free and were never handed out by this process.
pub fn free_port() -> u16 {
    for _ in 0..500 {
        let p = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(0);
        if !(1026..65534).contains(&p) {
            continue;
        }
        let block = p - 2..=p + 1;
        let mut r = reserved();
        if block.clone().any(|q| r.contains(&q)) || !block.clone().all(bindable) {
            continue;
        }
        r.extend(block);
        return p;
    }
    panic!("no free port block found");
}
