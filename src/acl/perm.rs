//! ACL 1.0 permissions (protocol.md §8.2): the bits, how `plain_acl.yml` spells them, and what a
//! request needs ([`Need`]: a topic, or a group as the pseudo-topic `%RETRY%<group>`).

/// Permission bits (4.9's `Permission`).
pub const DENY: u8 = 1;
pub const ANY: u8 = 2;
pub const PUB: u8 = 4;
pub const SUB: u8 = 8;

/// The retry-topic prefix that marks a group resource.
pub const RETRY_PREFIX: &str = "%RETRY%";

/// `PUB`, `SUB`, `PUB|SUB` / `SUB|PUB`, `DENY`; anything else (absent included) is DENY.
pub fn parse(text: &str) -> u8 {
    match text.trim() {
        "PUB" => PUB,
        "SUB" => SUB,
        "PUB|SUB" | "SUB|PUB" => PUB | SUB,
        _ => DENY,
    }
}

/// The name of a permission set, for remarks.
pub fn name(perm: u8) -> &'static str {
    match perm {
        PUB => "PUB",
        SUB => "SUB",
        p if p == PUB | SUB => "PUB|SUB",
        ANY => "ANY",
        _ => "DENY",
    }
}

/// 4.9's check: an owned DENY fails; ANY needs PUB or SUB; else any shared bit passes.
pub fn allows(needed: u8, owned: u8) -> bool {
    if owned & DENY != 0 {
        return false;
    }
    if needed & ANY != 0 {
        return owned & (PUB | SUB) != 0;
    }
    needed & owned != 0
}

/// One resource a request needs, with the permission it needs on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// A topic name, or `%RETRY%<group>` for a group.
    pub resource: String,
    pub perm: u8,
}

impl Need {
    pub fn topic(topic: &str, perm: u8) -> Need {
        Need {
            resource: topic.to_owned(),
            perm,
        }
    }

    /// SUB on a group (its retry pseudo-topic).
    pub fn group(group: &str) -> Need {
        Need {
            resource: format!("{RETRY_PREFIX}{group}"),
            perm: SUB,
        }
    }

    pub fn is_group(&self) -> bool {
        self.resource.starts_with(RETRY_PREFIX)
    }

    /// What a remark calls it: `topic T` or `group G`.
    pub fn describe(&self) -> String {
        match self.resource.strip_prefix(RETRY_PREFIX) {
            Some(g) => format!("group {g}"),
            None => format!("topic {}", self.resource),
        }
    }
}

/// What a request code needs (the `acl` column of the broker's route table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// A valid signature (or a whitelisted peer) suffices.
    Signature,
    /// An admin account (4.9: create/delete topic and group, update broker config).
    Admin,
    /// These resources with these permissions.
    Resources(Vec<Need>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_check_as_4_9() {
        assert_eq!(parse("PUB|SUB"), 12);
        assert_eq!(parse("SUB|PUB"), 12);
        assert_eq!(parse("pub"), DENY, "case matters");
        assert_eq!(parse(""), DENY);
        assert!(allows(PUB, PUB | SUB));
        assert!(!allows(PUB, SUB));
        assert!(!allows(SUB, DENY));
        assert!(allows(ANY, SUB));
        assert!(!allows(ANY, DENY));
        assert_eq!(Need::group("g").resource, "%RETRY%g");
        assert_eq!(Need::group("g").describe(), "group g");
    }
}
