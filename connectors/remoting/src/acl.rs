//! ACL 1.0 request signatures (protocol.md §8.1, §8.5): `Signature` = base64 (standard, padded)
//! of HMAC-SHA1, keyed by the secret key, over the values of every ext field except `Signature`,
//! sorted by key and concatenated, followed by the body.
//!
//! Clients differ in which fields they sign (ali-ons and the C++ client add `OnsChannel`; Java
//! ≤ 4.9.3 leaves `_UNIQUE_KEY_QUERY` out, Java ≥ 4.9.4 and rocketmq-client-rust put it in), but
//! each sends exactly the fields it signed plus `Signature` — except `_UNIQUE_KEY_QUERY`, which
//! old Java clients send unsigned. [`verify`] therefore checks the fields as received, and once
//! more without `_UNIQUE_KEY_QUERY` when it is present.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::ext::ExtFields;
use crate::RemotingCommand;

/// The ext field carrying the account's access key.
pub const ACCESS_KEY: &str = "AccessKey";
/// The ext field carrying the signature.
pub const SIGNATURE: &str = "Signature";
/// The ext field carrying an STS token (signed like any other field when present).
pub const SECURITY_TOKEN: &str = "SecurityToken";
/// Sent by QUERY_MESSAGE; left out of the signature by Java clients ≤ 4.9.3.
pub const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";

type HmacSha1 = Hmac<Sha1>;

/// The signed bytes: values of `ext` sorted by key, skipping `Signature` and `skip`, then `body`.
pub fn signed_content(ext: &ExtFields, body: &[u8], skip: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 64 * ext.len());
    // ExtFields is a BTreeMap: byte order of the keys, which is Java's String order for the
    // ASCII names every client uses.
    for (k, v) in ext {
        if k != SIGNATURE && Some(k.as_str()) != skip {
            out.extend_from_slice(v.as_bytes());
        }
    }
    out.extend_from_slice(body);
    out
}

fn mac(secret: &str, content: &[u8]) -> HmacSha1 {
    // HMAC takes keys of any length (longer ones are hashed), so `new_from_slice` never fails;
    // the fixed-size fallback only satisfies the type.
    let mut m = HmacSha1::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| <HmacSha1 as Mac>::new(&Default::default()));
    m.update(content);
    m
}

/// The base64 signature of `content` under `secret`.
pub fn signature(secret: &str, content: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(secret, content).finalize().into_bytes())
}

/// True when `cmd` carries a valid `Signature` under `secret` (compared in constant time).
pub fn verify(secret: &str, cmd: &RemotingCommand) -> bool {
    let Some(given) = cmd.ext_fields.get(SIGNATURE) else {
        return false;
    };
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(given.trim()) else {
        return false;
    };
    let check = |skip| {
        mac(secret, &signed_content(&cmd.ext_fields, &cmd.body, skip))
            .verify_slice(&given)
            .is_ok()
    };
    check(None) || (cmd.ext_fields.contains_key(UNIQUE_KEY_QUERY) && check(Some(UNIQUE_KEY_QUERY)))
}

/// Signs `cmd` as Java ≥ 4.9.4 does: sets `AccessKey`, then `Signature` over every ext field and
/// the body.
pub fn sign(cmd: &mut RemotingCommand, access_key: &str, secret: &str) {
    cmd.ext_fields.remove(SIGNATURE);
    cmd.ext_fields.insert(ACCESS_KEY.into(), access_key.into());
    let sig = signature(secret, &signed_content(&cmd.ext_fields, &cmd.body, None));
    cmd.ext_fields.insert(SIGNATURE.into(), sig);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vector computed independently with Python:
    /// `base64.b64encode(hmac.new(b"12345678", b"RocketMQALIYUNgroupATopicA" + b"hello",
    /// hashlib.sha1).digest())`.
    const VECTOR: &str = "0h0dRHQgVeKTshsZaD+7gl3jLlY=";

    fn ons_send() -> RemotingCommand {
        RemotingCommand::request(310)
            .with_ext("AccessKey", "RocketMQ")
            .with_ext("OnsChannel", "ALIYUN")
            .with_ext("a", "groupA")
            .with_ext("b", "TopicA")
            .with_body(&b"hello"[..])
    }

    #[test]
    fn signature_matches_an_independent_hmac() {
        let cmd = ons_send();
        let content = signed_content(&cmd.ext_fields, &cmd.body, None);
        assert_eq!(content, b"RocketMQALIYUNgroupATopicAhello");
        assert_eq!(signature("12345678", &content), VECTOR);
    }

    #[test]
    fn verify_accepts_the_fields_as_sent_and_nothing_else() {
        let mut cmd = ons_send();
        cmd.ext_fields.insert(SIGNATURE.into(), VECTOR.into());
        assert!(verify("12345678", &cmd));
        assert!(!verify("12345679", &cmd), "wrong secret");
        let mut tampered = cmd.clone();
        tampered.ext_fields.insert("b".into(), "TopicB".into());
        assert!(!verify("12345678", &tampered), "changed field");
        let mut tampered = cmd.clone();
        tampered.body = bytes::Bytes::from_static(b"hellO");
        assert!(!verify("12345678", &tampered), "changed body");
        let mut unsigned = cmd.clone();
        unsigned.ext_fields.remove(SIGNATURE);
        assert!(!verify("12345678", &unsigned));
        // Java ≤ 4.9.3: _UNIQUE_KEY_QUERY sent but not signed; ≥ 4.9.4: signed.
        let mut old = cmd.clone();
        old.ext_fields.insert(UNIQUE_KEY_QUERY.into(), "true".into());
        assert!(verify("12345678", &old));
        let mut new = ons_send();
        new.ext_fields.insert(UNIQUE_KEY_QUERY.into(), "true".into());
        sign(&mut new, "RocketMQ", "12345678");
        assert!(verify("12345678", &new));
    }

    #[test]
    fn sign_round_trips() {
        let mut cmd = RemotingCommand::request(11)
            .with_ext("topic", "T")
            .with_ext("queueId", "0");
        sign(&mut cmd, "ak", "sk");
        assert_eq!(cmd.ext("AccessKey"), Some("ak"));
        assert!(verify("sk", &cmd));
        assert!(!verify("other", &cmd));
    }
}
#[cfg(test)]
mod wire_tests {
    use super::*;

    #[test]
    fn access_key_fields_of_both_cases_survive_the_wire() {
        let mut cmd = RemotingCommand::request(50).with_ext("accessKey", "lateUser01");
        sign(&mut cmd, "adminKey01", "s");
        let mut b = bytes::BytesMut::new();
        crate::frame::encode(&cmd, &mut b).unwrap();
        let got = crate::FrameDecoder::default().decode(&mut b).unwrap().unwrap();
        assert_eq!(got.ext("AccessKey"), Some("adminKey01"), "{:?}", got.ext_fields);
        assert_eq!(got.ext("accessKey"), Some("lateUser01"));
        assert!(verify("s", &got));
    }
}
