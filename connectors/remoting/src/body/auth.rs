//! ACL 2.0 admin bodies (RocketMQ 5.3, protocol.md §8.4): `UserInfo` (AUTH_CREATE_USER …
//! AUTH_LIST_USER) and `AclInfo` (AUTH_CREATE_ACL … AUTH_LIST_ACL). Absent fields are left out,
//! as fastjson leaves out nulls; list responses are JSON arrays of these.

use serde::{Deserialize, Serialize};

use super::serde_body;
use crate::lenient;

/// `{"password":"…","userStatus":"enable","userType":"Normal","username":"u"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UserInfo {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub password: Option<String>,
    /// `enable` | `disable` (case-insensitive on input).
    #[serde(
        rename = "userStatus",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub user_status: Option<String>,
    /// `Super` | `Normal` (case-insensitive on input).
    #[serde(
        rename = "userType",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub user_type: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub username: Option<String>,
}

/// One subject's ACL: `{"policies":[PolicyInfo…],"subject":"User:u"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AclInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<PolicyInfo>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub subject: Option<String>,
}

/// `{"entries":[PolicyEntryInfo…],"policyType":"Custom"}` (type `Custom` | `Default`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PolicyInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<PolicyEntryInfo>>,
    #[serde(
        rename = "policyType",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub policy_type: Option<String>,
}

/// `{"actions":["Pub","Sub"],"decision":"Allow","resource":"Topic:t*","sourceIps":["10.0.0.0/8"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PolicyEntryInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub decision: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub resource: Option<String>,
    #[serde(rename = "sourceIps", default, skip_serializing_if = "Option::is_none")]
    pub source_ips: Option<Vec<String>>,
}

/// AUTH_LIST_USER's response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct UserInfoList(pub Vec<UserInfo>);

/// AUTH_LIST_ACL's response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct AclInfoList(pub Vec<AclInfo>);

serde_body!(UserInfo, AclInfo, UserInfoList, AclInfoList);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::JsonBody;

    #[test]
    fn user_and_acl_bodies_as_the_java_admin_sends_them() {
        let u = UserInfo::from_json(br#"{"password":"pw","userType":"super","username":"u"}"#).unwrap();
        assert_eq!(u.user_type.as_deref(), Some("super"));
        assert_eq!(u.user_status, None);
        assert_eq!(
            String::from_utf8(u.to_json()).unwrap(),
            r#"{"password":"pw","userType":"super","username":"u"}"#
        );
        let a = AclInfo::from_json(
            br#"{"policies":[{"entries":[{"actions":["Pub","Sub"],"decision":"Allow","resource":"Topic:t*","sourceIps":["10.0.0.0/8"]}]}],"subject":"User:u"}"#,
        )
        .unwrap();
        let e = &a.policies.as_ref().unwrap()[0].entries.as_ref().unwrap()[0];
        assert_eq!(e.resource.as_deref(), Some("Topic:t*"));
        assert_eq!(
            e.actions.as_deref(),
            Some(&["Pub".to_owned(), "Sub".to_owned()][..])
        );
        let list = AclInfoList(vec![a.clone()]);
        assert_eq!(AclInfoList::from_json(&list.to_json()).unwrap(), list);
        assert_eq!(UserInfoList::from_json(b"[]").unwrap().0, vec![]);
    }
}
