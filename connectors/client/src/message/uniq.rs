//! UNIQ_KEY generation (protocol.md §3.7): IP (4) | pid low 16 bits | a per-process random
//! i32 | ms since the start of the current month (UTC) | counter (i16) → 32 upper-case hex.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

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
        let pid = (std::process::id() & 0xFFFF) as u16;
        let mut prefix = String::with_capacity(20);
        for b in ip
            .octets()
            .iter()
            .chain(&pid.to_be_bytes())
            .chain(&salt.to_be_bytes())
        {
            prefix.push_str(&format!("{b:02X}"));
        }
        UniqKeyGenerator {
            prefix,
            counter: AtomicU16::new(0),
        }
    }

    /// The next key.
    pub fn next_key(&self) -> String {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let since_month = (now_ms - month_start_ms(now_ms)) as i32;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}{:08X}{:04X}", self.prefix, since_month as u32, n)
    }
}

/// The epoch ms of 00:00 UTC on the first day of the month containing `ms`.
fn month_start_ms(ms: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    let days = ms.div_euclid(DAY);
    let (y, m, _) = civil_from_days(days);
    days_from_civil(y, m, 1) * DAY
}

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_start() {
        // 2024-03-15T12:00:00Z → 2024-03-01T00:00:00Z
        assert_eq!(month_start_ms(1_710_504_000_000), 1_709_251_200_000);
        // 2024-02-29 (leap day) → 2024-02-01
        assert_eq!(month_start_ms(1_709_164_800_000), 1_706_745_600_000);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

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
