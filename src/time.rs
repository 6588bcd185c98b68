//! The time forms operators type and read: mqadmin's `yyyy-MM-dd#HH:mm:ss:SSS` (local time),
//! milliseconds since the epoch, `now`, RFC 3339 for `sluice export`, and mqadmin's printed
//! `yyyy-MM-dd HH:mm:ss,SSS`. Calendar arithmetic is chrono's.

use anyhow::{anyhow, Context, Result};
use chrono::{DateTime, Local, NaiveDateTime, TimeZone};

/// mqadmin's timestamps: `now`, milliseconds, or local `yyyy-MM-dd#HH:mm:ss:SSS` (a space may
/// stand for the `#`). A date that does not exist (`2025-02-30`) or a local time skipped by a
/// daylight-saving change is an error.
pub fn parse_timestamp(s: &str) -> Result<i64> {
    let s = s.trim();
    if s == "now" {
        return Ok(Local::now().timestamp_millis());
    }
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || anyhow!("bad timestamp {s:?}: use now, milliseconds or yyyy-MM-dd#HH:mm:ss:SSS");
    let naive = NaiveDateTime::parse_from_str(&s.replacen(' ', "#", 1), "%Y-%m-%d#%H:%M:%S:%3f")
        .map_err(|_| bad())?;
    let local = Local.from_local_datetime(&naive).earliest().ok_or_else(bad)?;
    Ok(local.timestamp_millis())
}

/// `--since` / `--until`: anything [`parse_timestamp`] takes, or RFC 3339
/// (`2024-05-01T12:00:00Z`, `…T14:00:00.250+02:00`).
pub fn parse_time(s: &str) -> Result<i64> {
    let s = s.trim();
    if s.contains(['T', 't']) && s.parse::<i64>().is_err() {
        let t = DateTime::parse_from_rfc3339(s).with_context(|| format!("bad RFC 3339 time {s:?}"))?;
        return Ok(t.timestamp_millis());
    }
    parse_timestamp(s)
}

/// Local `yyyy-MM-dd HH:mm:ss,SSS` of a millisecond timestamp, as mqadmin prints them; `-` for
/// none (≤ 0).
pub fn format_timestamp(ms: i64) -> String {
    match Local.timestamp_millis_opt(ms).earliest() {
        Some(t) if ms > 0 => t.format("%Y-%m-%d %H:%M:%S,%3f").to_string(),
        _ => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_form_round_trips_through_the_printed_form() {
        let ms = parse_timestamp("2023-11-14#22:13:20:123").unwrap();
        assert_eq!(format_timestamp(ms), "2023-11-14 22:13:20,123");
        assert_eq!(parse_timestamp("2023-11-14 22:13:20:123").unwrap(), ms);
        assert_eq!(parse_timestamp("1700000000123").unwrap(), 1_700_000_000_123);
        assert_eq!(format_timestamp(0), "-");
    }

    #[test]
    fn impossible_dates_and_garbage_are_refused() {
        for s in [
            "2025-02-30#00:00:00:000",
            "2023-13-01#00:00:00:000",
            "2023-01-01#24:00:00:000",
            "yesterday",
            "",
        ] {
            assert!(parse_timestamp(s).is_err(), "{s}");
        }
        assert!(parse_time("2023-02-29T00:00:00Z").is_err());
    }

    #[test]
    fn rfc3339_with_zones_and_fractions() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_time("2023-11-14T22:13:20.123456Z").unwrap(),
            1_700_000_000_123
        );
        assert_eq!(parse_time("2000-02-29T00:00:00-01:30").unwrap(), 951_787_800_000);
    }
}
