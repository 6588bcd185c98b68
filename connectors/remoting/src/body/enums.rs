//! Enums that travel in JSON bodies. Written as their Java names; read from names **or**
//! ordinals (the C++ client writes ordinals; Java's ordinal order is used), numeric strings
//! included; `null` reads as the default.

use serde::de::{self, Deserialize, Deserializer};
use serde::{Serialize, Serializer};

use crate::lenient::Scalar;

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident default $default:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $ordinal:literal, $wire:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }

        impl $name {
            /// The Java enum name.
            pub fn name(self) -> &'static str {
                match self { $( $name::$variant => $wire, )* }
            }

            /// The Java enum ordinal.
            pub fn ordinal(self) -> i32 {
                match self { $( $name::$variant => $ordinal, )* }
            }

            /// From the Java name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $( $wire => Some($name::$variant), )* _ => None }
            }

            /// From the Java ordinal.
            pub fn from_ordinal(ordinal: i64) -> Option<Self> {
                match ordinal { $( $ordinal => Some($name::$variant), )* _ => None }
            }

            fn from_scalar(s: Scalar) -> Result<Self, String> {
                let found = match &s {
                    Scalar::Null => Some(Self::default()),
                    Scalar::I64(n) => Self::from_ordinal(*n),
                    Scalar::U64(n) => i64::try_from(*n).ok().and_then(Self::from_ordinal),
                    Scalar::Str(t) => {
                        let t = t.trim();
                        Self::from_name(t).or_else(|| t.parse::<i64>().ok().and_then(Self::from_ordinal))
                    }
                    Scalar::Bool(_) | Scalar::F64(_) => None,
                };
                found.ok_or_else(|| format!("unknown {} {:?}", stringify!($name), s))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::from_scalar(Scalar::deserialize(d)?).map_err(de::Error::custom)
            }
        }
    };
}

wire_enum! {
    /// `consumeType` (§2.3.5).
    pub enum ConsumeType default ConsumePassively {
        /// Pull consumers.
        ConsumeActively = 0, "CONSUME_ACTIVELY";
        /// Push consumers.
        ConsumePassively = 1, "CONSUME_PASSIVELY";
        /// 5.x pop consumers.
        ConsumePop = 2, "CONSUME_POP";
    }
}

wire_enum! {
    /// `messageModel` (§2.3.5).
    pub enum MessageModel default Clustering {
        Broadcasting = 0, "BROADCASTING";
        Clustering = 1, "CLUSTERING";
    }
}

wire_enum! {
    /// `consumeFromWhere` (§2.3.5, §7.6).
    pub enum ConsumeFromWhere default ConsumeFromLastOffset {
        ConsumeFromLastOffset = 0, "CONSUME_FROM_LAST_OFFSET";
        /// Deprecated.
        ConsumeFromLastOffsetAndFromMinWhenBootFirst = 1, "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST";
        /// Deprecated.
        ConsumeFromMinOffset = 2, "CONSUME_FROM_MIN_OFFSET";
        /// Deprecated.
        ConsumeFromMaxOffset = 3, "CONSUME_FROM_MAX_OFFSET";
        ConsumeFromFirstOffset = 4, "CONSUME_FROM_FIRST_OFFSET";
        ConsumeFromTimestamp = 5, "CONSUME_FROM_TIMESTAMP";
    }
}

wire_enum! {
    /// `topicFilterType` of a TopicConfig (§2.3.17, §2.3.19).
    pub enum TopicFilterType default SingleTag {
        SingleTag = 0, "SINGLE_TAG";
        MultiTag = 1, "MULTI_TAG";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ordinals() {
        let m: MessageModel = serde_json::from_str("0").unwrap();
        assert_eq!(m, MessageModel::Broadcasting);
        let m: MessageModel = serde_json::from_str("\"CLUSTERING\"").unwrap();
        assert_eq!(m, MessageModel::Clustering);
        let w: ConsumeFromWhere = serde_json::from_str("\"4\"").unwrap();
        assert_eq!(w, ConsumeFromWhere::ConsumeFromFirstOffset);
        let c: ConsumeType = serde_json::from_str("null").unwrap();
        assert_eq!(c, ConsumeType::ConsumePassively);
        assert!(serde_json::from_str::<ConsumeType>("7").is_err());
        assert!(serde_json::from_str::<ConsumeType>("\"PUSH\"").is_err());
        assert_eq!(
            serde_json::to_string(&ConsumeFromWhere::ConsumeFromTimestamp).unwrap(),
            "\"CONSUME_FROM_TIMESTAMP\""
        );
    }
}
