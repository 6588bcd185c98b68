//! [`RemotingCommand`]: one decoded frame (protocol.md §1.2–§1.5).

use bytes::Bytes;

use super::{FLAG_ONEWAY, FLAG_RESPONSE};
use crate::codes::{language::LanguageCode, response, version};
use crate::ext::{ExtFields, HeaderError};
use crate::header::CommandHeader;

/// A request or response: the header fields of §1.3 plus the raw body.
///
/// The body is a [`Bytes`] that, for decoded frames, shares the connection's read buffer
/// (no copy). `ext_fields` values are always text; JSON numbers and booleans sent by
/// ali-ons / C++ have been converted to their canonical text by the decoder (§1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    /// Request code (§2.1) for requests, response code (§2.2) for responses.
    pub code: i32,
    /// Sender language (§1.6).
    pub language: LanguageCode,
    /// Sender version ordinal (§1.7).
    pub version: i32,
    /// Request id; a response copies it (§1.5).
    pub opaque: i32,
    /// Bit 0 = response, bit 1 = oneway (§1.5).
    pub flag: i32,
    /// Human-readable message. `None` = absent/null; C++ sends `""`.
    pub remark: Option<String>,
    /// The custom header (§1.8).
    pub ext_fields: ExtFields,
    /// The body (may be empty).
    pub body: Bytes,
}

impl Default for RemotingCommand {
    fn default() -> Self {
        RemotingCommand {
            code: 0,
            language: LanguageCode::Java,
            version: version::DEFAULT_SERVER_VERSION,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
        }
    }
}

impl RemotingCommand {
    /// A request with `code`, language JAVA and [`version::DEFAULT_SERVER_VERSION`].
    pub fn request(code: i32) -> Self {
        RemotingCommand {
            code,
            ..Default::default()
        }
    }

    /// A request carrying a typed header.
    pub fn request_with_header<H: CommandHeader>(code: i32, header: &H) -> Self {
        RemotingCommand {
            code,
            ext_fields: header.to_ext(),
            ..Default::default()
        }
    }

    /// A response with `code` (flag bit 0 set). Set `opaque` before sending, or use
    /// [`RemotingCommand::response_to`].
    pub fn response(code: i32) -> Self {
        RemotingCommand {
            code,
            flag: FLAG_RESPONSE,
            ..Default::default()
        }
    }

    /// The response to this request: same opaque, response flag, language JAVA and the
    /// default server version (§1.3), `code`, and `remark` if given.
    pub fn response_to(&self, code: i32, remark: Option<String>) -> Self {
        RemotingCommand {
            code,
            opaque: self.opaque,
            flag: FLAG_RESPONSE,
            remark,
            ..Default::default()
        }
    }

    /// SUCCESS response to this request, no remark.
    pub fn success_response(&self) -> Self {
        self.response_to(response::SUCCESS, None)
    }

    /// Error response to this request with `code` and `remark`.
    pub fn error_response(&self, code: i32, remark: impl Into<String>) -> Self {
        self.response_to(code, Some(remark.into()))
    }

    /// REQUEST_CODE_NOT_SUPPORTED (3) with Java's remark text (§1.5).
    pub fn not_supported_response(&self) -> Self {
        self.error_response(
            response::REQUEST_CODE_NOT_SUPPORTED,
            format!(" request type {} not supported", self.code),
        )
    }

    /// A response to this request answering a header that failed to parse: SYSTEM_ERROR with
    /// the error text as remark (what 4.9 does for a missing required field, §1.8).
    pub fn header_error_response(&self, err: &HeaderError) -> Self {
        self.error_response(response::SYSTEM_ERROR, err.to_string())
    }

    /// Flag bit 0.
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// Not a response.
    pub fn is_request(&self) -> bool {
        !self.is_response()
    }

    /// Flag bit 1: the receiver must not reply.
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// Sets flag bit 0.
    pub fn mark_response(&mut self) {
        self.flag |= FLAG_RESPONSE;
    }

    /// Sets flag bit 1.
    pub fn mark_oneway(&mut self) {
        self.flag |= FLAG_ONEWAY;
    }

    /// Builder: opaque.
    pub fn with_opaque(mut self, opaque: i32) -> Self {
        self.opaque = opaque;
        self
    }

    /// Builder: remark.
    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// Builder: body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Builder: version.
    pub fn with_version(mut self, version: i32) -> Self {
        self.version = version;
        self
    }

    /// Builder: language.
    pub fn with_language(mut self, language: LanguageCode) -> Self {
        self.language = language;
        self
    }

    /// Builder: replaces the ext fields with a typed header's.
    pub fn with_header<H: CommandHeader>(mut self, header: &H) -> Self {
        self.ext_fields = header.to_ext();
        self
    }

    /// Builder: adds one ext field.
    pub fn with_ext(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.ext_fields.insert(key.into(), value.into());
        self
    }

    /// One ext field.
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.get(key).map(String::as_str)
    }

    /// Decodes the ext fields into a typed header.
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H, HeaderError> {
        H::from_ext(&self.ext_fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_responses() {
        let mut req = RemotingCommand::request(34).with_opaque(77);
        assert!(req.is_request() && !req.is_oneway());
        req.mark_oneway();
        assert!(req.is_oneway());
        let resp = req.error_response(17, "No topic");
        assert!(resp.is_response());
        assert_eq!(
            (resp.opaque, resp.code, resp.remark.as_deref()),
            (77, 17, Some("No topic"))
        );
        assert_eq!(resp.language, LanguageCode::Java);
        assert_eq!(resp.version, 409);
        let ns = RemotingCommand::request(999).not_supported_response();
        assert_eq!(ns.code, 3);
        assert_eq!(ns.remark.as_deref(), Some(" request type 999 not supported"));
        let hr = req.header_error_response(&HeaderError::Missing { field: "topic" });
        assert_eq!(hr.code, 1);
        assert_eq!(hr.remark.as_deref(), Some("the custom field <topic> is null"));
    }
}
