//! HEART_BEAT (34) body — protocol.md §2.3.5; CHECK_CLIENT_CONFIG (46) body — §2.3.15;
//! subscriptions and tag codes — §3.8, §7.7.
//!
//! Clients differ (§2.3.5): C++ writes enum ordinals, ali-ons omits `expressionType`, Go sends
//! `codeSet` as strings and hashes UTF-8 bytes. All of that is accepted; do not trust
//! `codeSet` — [`SubscriptionData::java_codes`] recomputes it.

use serde::{Deserialize, Deserializer, Serialize};

use super::enums::{ConsumeFromWhere, ConsumeType, MessageModel};
use super::serde_body;
use crate::hash::java_string_hash;
use crate::lenient;

/// Subscribe-all expression.
pub const SUB_ALL: &str = "*";
/// Default `expressionType`.
pub const EXPRESSION_TYPE_TAG: &str = "TAG";

fn tag() -> String {
    EXPRESSION_TYPE_TAG.to_owned()
}

/// `expressionType`: null or empty → `TAG`.
fn expression_type<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(lenient::opt_string(d)?
        .filter(|s| !s.is_empty())
        .unwrap_or_else(tag))
}

/// Splits a TAG expression on `||`, trims and drops empty tokens (§3.8). `*` or empty → no
/// tags (subscribe all).
pub fn parse_tags(expression: &str) -> Vec<String> {
    let e = expression.trim();
    if e.is_empty() || e == SUB_ALL {
        return Vec::new();
    }
    e.split("||")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One subscription (§2.5):
/// `{"classFilterMode":false,"codeSet":[…],"expressionType":"TAG","subString":"*","subVersion":…,"tagsSet":[…],"topic":"T"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionData {
    #[serde(rename = "classFilterMode", default, deserialize_with = "lenient::bool")]
    pub class_filter_mode: bool,
    /// As sent; Go sends strings, and hashes differ for non-ASCII tags — see
    /// [`SubscriptionData::java_codes`].
    #[serde(rename = "codeSet", default, deserialize_with = "lenient::vec_i32")]
    pub code_set: Vec<i32>,
    /// `TAG` (also when absent, e.g. ali-ons) or `SQL92`.
    #[serde(
        rename = "expressionType",
        default = "tag",
        deserialize_with = "expression_type"
    )]
    pub expression_type: String,
    #[serde(rename = "subString", default, deserialize_with = "lenient::string")]
    pub sub_string: String,
    /// Java: ms timestamp; Go: ns.
    #[serde(rename = "subVersion", default, deserialize_with = "lenient::i64")]
    pub sub_version: i64,
    #[serde(rename = "tagsSet", default, deserialize_with = "lenient::vec_string")]
    pub tags_set: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub topic: String,
}

impl SubscriptionData {
    /// A TAG subscription for `expression` (tags and Java codes filled in).
    pub fn tag_expression(topic: impl Into<String>, expression: &str, sub_version: i64) -> Self {
        let tags = parse_tags(expression);
        let codes = tags.iter().map(|t| java_string_hash(t)).collect();
        let sub_string = if tags.is_empty() {
            SUB_ALL.to_owned()
        } else {
            expression.trim().to_owned()
        };
        SubscriptionData {
            class_filter_mode: false,
            code_set: codes,
            expression_type: tag(),
            sub_string,
            sub_version,
            tags_set: tags,
            topic: topic.into(),
        }
    }

    /// TAG expression type.
    pub fn is_tag(&self) -> bool {
        self.expression_type.eq_ignore_ascii_case(EXPRESSION_TYPE_TAG)
    }

    /// A TAG subscription to everything (`*` or empty).
    pub fn is_subscribe_all(&self) -> bool {
        self.is_tag() && parse_tags(&self.sub_string).is_empty()
    }

    /// The tag codes the broker should filter with: Java `String.hashCode` of each tag, from
    /// `tagsSet` or, when that is empty, from `subString` (§2.3.5, §3.8).
    pub fn java_codes(&self) -> Vec<i32> {
        if self.tags_set.is_empty() {
            parse_tags(&self.sub_string)
                .iter()
                .map(|t| java_string_hash(t))
                .collect()
        } else {
            self.tags_set.iter().map(|t| java_string_hash(t)).collect()
        }
    }
}

/// `{"groupName":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerData {
    #[serde(rename = "groupName", default, deserialize_with = "lenient::string")]
    pub group_name: String,
}

/// One consumer group of a heartbeat. Missing enums take their defaults (PASSIVELY,
/// CLUSTERING, LAST_OFFSET).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ConsumerData {
    #[serde(rename = "consumeFromWhere", default)]
    pub consume_from_where: ConsumeFromWhere,
    #[serde(rename = "consumeType", default)]
    pub consume_type: ConsumeType,
    #[serde(rename = "groupName", default, deserialize_with = "lenient::string")]
    pub group_name: String,
    #[serde(rename = "messageModel", default)]
    pub message_model: MessageModel,
    #[serde(
        rename = "subscriptionDataSet",
        default,
        deserialize_with = "lenient::null_default"
    )]
    pub subscription_data_set: Vec<SubscriptionData>,
    #[serde(rename = "unitMode", default, deserialize_with = "lenient::bool")]
    pub unit_mode: bool,
}

/// The HEART_BEAT (34) body (§2.3.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HeartbeatData {
    /// Opaque, unique per client process.
    #[serde(rename = "clientID", default, deserialize_with = "lenient::string")]
    pub client_id: String,
    #[serde(
        rename = "consumerDataSet",
        default,
        deserialize_with = "lenient::null_default"
    )]
    pub consumer_data_set: Vec<ConsumerData>,
    /// 5.x heartbeat v2; ignorable as long as `IS_SUPPORT_HEART_BEAT_V2` is never returned.
    #[serde(
        rename = "heartbeatFingerprint",
        default,
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub heartbeat_fingerprint: Option<i64>,
    #[serde(
        rename = "producerDataSet",
        default,
        deserialize_with = "lenient::null_default"
    )]
    pub producer_data_set: Vec<ProducerData>,
    /// 5.x.
    #[serde(
        rename = "withoutSub",
        default,
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub without_sub: Option<bool>,
}

/// The CHECK_CLIENT_CONFIG (46) body (§2.3.15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckClientConfigBody {
    #[serde(rename = "clientId", default, deserialize_with = "lenient::string")]
    pub client_id: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub group: String,
    #[serde(rename = "subscriptionData", default, skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<SubscriptionData>,
}

serde_body!(SubscriptionData, HeartbeatData, CheckClientConfigBody);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_expressions() {
        assert_eq!(parse_tags(" TagA || TagB ||"), vec!["TagA", "TagB"]);
        assert!(parse_tags("*").is_empty());
        let s = SubscriptionData::tag_expression("T", "TagA || TagB", 1);
        assert_eq!(s.code_set, vec![2_598_919, 2_598_920]);
        assert!(!s.is_subscribe_all());
        assert!(SubscriptionData::tag_expression("T", "*", 1).is_subscribe_all());
    }
}
