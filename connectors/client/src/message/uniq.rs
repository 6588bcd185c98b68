//! UNIQ_KEY generation (protocol.md §3.7) for one client: the layout is
//! `sluice_remoting::uniq`'s; this holds the process's prefix and counter and reads the clock
//! (the month starts at 00:00 UTC).

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sluice_remoting::uniq;

/// Generates UNIQ_KEYs for one client.
#[derive(Debug)]
pub struct UniqKeyGenerator {
    prefix: String,
    counter: AtomicU16,
}

impl UniqKeyGenerator {
    /// A generator for a process on `ip`.
    pub fn new(ip: Ipv4Addr) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let salt = nanos ^ std::process::id().rotate_left(16) ^ (&nanos as *const u32 as usize as u32);
        UniqKeyGenerator {
            prefix: uniq::prefix(ip, std::process::id() as u16, salt),
            counter: AtomicU16::new(0),
        }
    }

    /// The next key.
    pub fn next_key(&self) -> String {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        uniq::key(&self.prefix, uniq::ms_since_month_start_utc(now_ms), n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_hex() {
        let g = UniqKeyGenerator::new(Ipv4Addr::new(192, 168, 0, 1));
        let a = g.next_key();
        let b = g.next_key();
        assert_eq!(a.len(), 32);
        assert!(a.starts_with("C0A80001"));
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
        assert_ne!(a, b);
    }
}
