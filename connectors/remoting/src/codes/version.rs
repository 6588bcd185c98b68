//! Version ordinals, protocol.md §1.7: `version` is the ordinal of Java's `MQVersion.Version`.
//!
//! For a release a.b.c with a ∈ {4, 5}: ordinal = 213 + 2·(100·(a−4) + 10·b + c); the
//! matching `_SNAPSHOT` is one less. Earlier 3.x ordinals are irregular; the ones the protocol
//! depends on are constants here.

/// Ordinal of release `major.minor.patch` (4.0.0 ≤ version ≤ 5.9.9), `None` outside that range.
pub const fn ordinal(major: i32, minor: i32, patch: i32) -> Option<i32> {
    if (major != 4 && major != 5) || minor < 0 || minor > 9 || patch < 0 || patch > 9 {
        return None;
    }
    Some(213 + 2 * (100 * (major - 4) + 10 * minor + patch))
}

/// Ordinal of `major.minor.patch-SNAPSHOT` (one less than the release).
pub const fn snapshot_ordinal(major: i32, minor: i32, patch: i32) -> Option<i32> {
    match ordinal(major, minor, patch) {
        Some(v) => Some(v - 1),
        None => None,
    }
}

/// Parses an ordinal back into `(major, minor, patch, is_snapshot)` for 4.0.0-SNAPSHOT and
/// later; `None` for older (irregular) or out-of-range values.
pub const fn release(ordinal: i32) -> Option<(i32, i32, i32, bool)> {
    if ordinal < 212 || ordinal > 413 + 199 {
        return None;
    }
    let snapshot = (ordinal - 213) % 2 != 0;
    let n = if snapshot {
        (ordinal - 212) / 2
    } else {
        (ordinal - 213) / 2
    };
    Some((4 + n / 100, (n % 100) / 10, n % 10, snapshot))
}

/// `"V4_9_8"`, `"V5_3_1_SNAPSHOT"`, a known 3.x name, or `"ordinal N"` — for logging.
pub fn describe(ordinal: i32) -> String {
    match ordinal {
        V3_0_11 => "V3_0_11".to_owned(),
        V3_4_9 => "V3_4_9".to_owned(),
        _ => match release(ordinal) {
            Some((a, b, c, false)) => format!("V{a}_{b}_{c}"),
            Some((a, b, c, true)) => format!("V{a}_{b}_{c}_SNAPSHOT"),
            None => format!("ordinal {ordinal}"),
        },
    }
}

/// 3.0.11: brokers from here on send the RegisterBrokerBody wrapper (§1.7).
pub const V3_0_11: i32 = 37;
/// 3.4.9: what ali-ons sends; `maxReconsumeTimes` honoured from here on (§1.7).
pub const V3_4_9: i32 = 121;
/// 4.0.0.
pub const V4_0_0: i32 = 213;
/// 4.1.0-SNAPSHOT: Java clients refuse SQL92 pulls from brokers reporting less (§1.3).
pub const V4_1_0_SNAPSHOT: i32 = 232;
/// 4.5.2: what rocketmq-client-go v2 sends.
pub const V4_5_2: i32 = 317;
/// 4.6.0: what rocketmq-client-cpp 2.x sends.
pub const V4_6_0: i32 = 333;
/// 4.9.4: from here on GET_ROUTEINFO_BY_TOPIC answers standard JSON (§2.3.16).
pub const V4_9_4: i32 = 401;
/// 4.9.8: a realistic broker version to report (§1.3).
pub const V4_9_8: i32 = 409;
/// 5.0.0: compressed REGISTER_BROKER bodies carry a static-topic section from here on.
pub const V5_0_0: i32 = 413;
/// 5.3.1-SNAPSHOT: what the rocketmq-rust client sends.
pub const V5_3_1_SNAPSHOT: i32 = 474;
/// 5.3.3.
pub const V5_3_3: i32 = 479;

/// The version this codec puts into commands it creates unless told otherwise.
pub const DEFAULT_SERVER_VERSION: i32 = V4_9_8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_section_1_7() {
        let table = [
            ((4, 0, 0), 213),
            ((4, 1, 0), 233),
            ((4, 4, 0), 293),
            ((4, 5, 2), 317),
            ((4, 6, 0), 333),
            ((4, 7, 1), 355),
            ((4, 8, 0), 373),
            ((4, 9, 0), 393),
            ((4, 9, 4), 401),
            ((4, 9, 8), 409),
            ((5, 0, 0), 413),
            ((5, 1, 0), 433),
            ((5, 1, 4), 441),
            ((5, 2, 0), 453),
            ((5, 3, 0), 473),
            ((5, 3, 1), 475),
            ((5, 3, 3), 479),
        ];
        for ((a, b, c), v) in table {
            assert_eq!(ordinal(a, b, c), Some(v), "{a}.{b}.{c}");
            assert_eq!(release(v), Some((a, b, c, false)));
        }
        assert_eq!(snapshot_ordinal(4, 1, 0), Some(V4_1_0_SNAPSHOT));
        assert_eq!(snapshot_ordinal(5, 3, 1), Some(V5_3_1_SNAPSHOT));
        assert_eq!(release(474), Some((5, 3, 1, true)));
        assert_eq!(ordinal(3, 4, 9), None);
        assert_eq!(describe(409), "V4_9_8");
        assert_eq!(describe(474), "V5_3_1_SNAPSHOT");
        assert_eq!(describe(121), "V3_4_9");
        assert_eq!(describe(5), "ordinal 5");
    }
}
