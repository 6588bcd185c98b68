//! Numbers on the wire: request codes (protocol.md §2.1), response codes (§2.2), the sender's
//! [`LanguageCode`](language::LanguageCode) (§1.6) and version ordinals (§1.7).

pub mod language;
pub mod request;
pub mod response;
pub mod version;

/// Declares `pub const NAME: i32 = value;` for each entry, plus `name(code)` and `ALL`.
/// Every value must be distinct (aliases are declared outside the macro).
macro_rules! code_table {
    ($( $(#[$meta:meta])* $name:ident = $value:expr; )*) => {
        $( $(#[$meta])* pub const $name: i32 = $value; )*

        /// The protocol name of `code` (for logging), or `None` when it is not in the table.
        pub fn name(code: i32) -> Option<&'static str> {
            match code {
                $( $name => Some(stringify!($name)), )*
                _ => None,
            }
        }

        /// Every `(code, name)` of the table, in declaration order.
        pub const ALL: &[(i32, &str)] = &[ $( ($name, stringify!($name)), )* ];
    };
}
pub(crate) use code_table;

/// `"NAME(code)"` for logging a request code, `"UNKNOWN(code)"` when it is not in §2.1.
pub fn describe_request(code: i32) -> String {
    format!("{}({code})", request::name(code).unwrap_or("UNKNOWN"))
}

/// `"NAME(code)"` for logging a response code, `"UNKNOWN(code)"` when it is not in §2.2.
pub fn describe_response(code: i32) -> String {
    format!("{}({code})", response::name(code).unwrap_or("UNKNOWN"))
}
