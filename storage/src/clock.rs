//! Wall-clock helpers: epoch milliseconds, local hours (retention's `deleteWhen`) and the
//! `yyyyMMddHHmmssSSS` names of IndexFiles, in local time as RocketMQ uses them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    millis_of(SystemTime::now())
}

/// Milliseconds since the Unix epoch of `t` (0 before the epoch).
pub fn millis_of(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Broken-down local time of `millis`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
}

/// Converts epoch milliseconds to local time (the process's time zone, as `localtime_r`).
pub fn local_time(millis: i64) -> LocalTime {
    let secs = millis.div_euclid(1000) as libc::time_t;
    // SAFETY: `tm` is plain data that localtime_r fills in; both pointers are valid for the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        return LocalTime {
            year: 1970,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            millis: 0,
        };
    }
    LocalTime {
        year: tm.tm_year + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
        second: tm.tm_sec as u32,
        millis: millis.rem_euclid(1000) as u32,
    }
}

/// `yyyyMMddHHmmssSSS` in local time.
pub fn index_file_name(millis: i64) -> String {
    let t = local_time(millis);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{:03}",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.millis
    )
}

/// The SystemTime `ms` milliseconds after the epoch.
pub fn system_time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_have_17_digits_and_sort_by_time() {
        let a = index_file_name(1_700_000_000_000);
        let b = index_file_name(1_700_000_000_001);
        assert_eq!(a.len(), 17);
        assert!(a.bytes().all(|c| c.is_ascii_digit()));
        assert!(a < b);
        assert!(now_millis() > 1_700_000_000_000);
    }
}
