//! UNIQ_KEY, the client-generated message id (protocol.md §3.7): IP (4 bytes) | pid low 16 bits
//! | a per-process random i32 | ms since the start of the current month | a counter (u16),
//! written as 32 upper-case hex digits. Producers set it; the broker sets it on messages sent
//! without one. The caller supplies the process facts and the clock; this module lays them out.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

/// The fixed first 20 hex digits of a process's keys: IP, pid low 16 bits, random salt.
pub fn prefix(ip: Ipv4Addr, pid: u16, salt: u32) -> String {
    let mut out = String::with_capacity(32);
    for b in ip
        .octets()
        .iter()
        .chain(&pid.to_be_bytes())
        .chain(&salt.to_be_bytes())
    {
        let _ = write!(out, "{b:02X}");
    }
    out
}

/// A key: `prefix` (from [`prefix`]), then the ms since the start of the month and the counter.
pub fn key(prefix: &str, ms_since_month: u32, counter: u16) -> String {
    let mut out = String::with_capacity(32);
    out.push_str(prefix);
    let _ = write!(out, "{ms_since_month:08X}{counter:04X}");
    out
}

/// The IPv4 address a key carries for `ip`: an IPv4-mapped IPv6 address as IPv4, any other
/// IPv6 address as 127.0.0.1.
pub fn key_ip(ip: IpAddr) -> Ipv4Addr {
    match ip {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().unwrap_or(Ipv4Addr::LOCALHOST),
    }
}

/// Milliseconds from 00:00 UTC on the first day of the month containing `epoch_ms` to it.
pub fn ms_since_month_start_utc(epoch_ms: i64) -> u32 {
    (epoch_ms - month_start_ms(epoch_ms)) as u32
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
        assert_eq!(ms_since_month_start_utc(1_710_504_000_000), 1_252_800_000);
        // 2024-02-29 (leap day) → 2024-02-01
        assert_eq!(month_start_ms(1_709_164_800_000), 1_706_745_600_000);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn golden_key() {
        let p = prefix(Ipv4Addr::new(192, 168, 0, 1), 0x1234, 0xDEAD_BEEF);
        assert_eq!(p, "C0A800011234DEADBEEF");
        assert_eq!(key(&p, 0x0A0B_0C0D, 7), "C0A800011234DEADBEEF0A0B0C0D0007");
        assert_eq!(
            key_ip("::ffff:10.0.0.1".parse().unwrap()),
            Ipv4Addr::new(10, 0, 0, 1)
        );
        assert_eq!(key_ip("2001:db8::1".parse().unwrap()), Ipv4Addr::LOCALHOST);
    }
}
