//! Topic and broker permission bits (`perm`, protocol.md §2.3.22): in TopicConfig, QueueData
//! and the broker's `brokerPermission`.

/// Inherited by topics created from this one (TBW102, auto-create).
pub const INHERIT: i32 = 1;
/// Writable.
pub const WRITE: i32 = 2;
/// Readable.
pub const READ: i32 = 4;
/// Readable and writable, the default.
pub const READ_WRITE: i32 = READ | WRITE;

/// `RWX`-style name of `perm`, as mqadmin prints it (`-` for an absent bit).
pub fn name(perm: i32) -> String {
    [(READ, 'R'), (WRITE, 'W'), (INHERIT, 'X')]
        .iter()
        .map(|&(bit, c)| if perm & bit != 0 { c } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_names() {
        assert_eq!(READ_WRITE, 6);
        assert_eq!(name(6), "RW-");
        assert_eq!(name(7), "RWX");
        assert_eq!(name(0), "---");
    }
}
