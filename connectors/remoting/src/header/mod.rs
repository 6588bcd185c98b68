//! Typed request and response headers (protocol.md §2.3), one file per request family.
//!
//! Every header converts from and to the `extFields` map with [`CommandHeader::from_ext`] and
//! [`CommandHeader::to_ext`] (also available as inherent methods). Reading follows
//! [`crate::ext`]: required fields missing → [`HeaderError::Missing`], malformed numbers →
//! [`HeaderError::Invalid`], optional fields → their §2.3 default, unknown keys ignored.
//!
//! | family | file | codes |
//! |---|---|---|
//! | send | [`send`] | 10, 310, 320, 324, 325 |
//! | pull | [`pull`] | 11, 361 |
//! | offsets | [`offsets`] | 14, 15, 29, 30, 31, 32 |
//! | clients | [`heartbeat`] | 35, 38, 40 (34, 41, 42 have no header) |
//! | query | [`query`] | 12, 33 |
//! | transactions / send-back | [`transaction`] | 36, 37, 39 |
//! | route (namesrv) | [`route`] | 100–105, 205, 216, 219, 224, 322, 327 |
//! | admin | [`admin`] | 17, 26, 202, 203, 204, 208, 215, 220, 222, 300, 307, 309 |
//! | controller (5.x) | [`controller`] | 904, 1001–1005, 1008, 1012, 1013 |

use crate::ext::{ExtFields, HeaderError};

pub mod admin;
pub mod controller;
pub mod heartbeat;
pub mod offsets;
pub mod pull;
pub mod query;
pub mod route;
pub mod send;
pub mod transaction;

/// A typed view of `extFields`.
pub trait CommandHeader: Sized {
    /// Reads the header from `extFields`.
    fn from_ext(ext: &ExtFields) -> Result<Self, HeaderError>;
    /// Renders the header as `extFields` (all values canonical text; `None` fields omitted).
    fn to_ext(&self) -> ExtFields;
}

/// Declares a header struct and its `extFields` mapping. Each field is
/// `name: MODE Type = "wireKey"` with MODE `req` (required: missing → error), `opt`
/// (`Option<Type>`, omitted when `None`) or `def` (`Type`, missing → the `default` given).
macro_rules! ext_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $mode:ident $ty:ty = $key:literal $(, default $default:expr)? ;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $crate::header::ext_header!(@ty $mode $ty),
            )*
        }

        impl $name {
            /// Reads the header from `extFields`.
            #[allow(unused_variables)]
            pub fn from_ext(ext: &$crate::ext::ExtFields) -> Result<Self, $crate::ext::HeaderError> {
                Ok(Self {
                    $( $field: $crate::header::ext_header!(@get ext, $mode $ty, $key $(, $default)?), )*
                })
            }

            /// Renders the header as `extFields`.
            #[allow(unused_mut)]
            pub fn to_ext(&self) -> $crate::ext::ExtFields {
                let mut ext = $crate::ext::ExtFields::new();
                $( $crate::header::ext_header!(@put ext, $mode, $key, &self.$field); )*
                ext
            }
        }

        impl $crate::header::CommandHeader for $name {
            fn from_ext(ext: &$crate::ext::ExtFields) -> Result<Self, $crate::ext::HeaderError> {
                $name::from_ext(ext)
            }
            fn to_ext(&self) -> $crate::ext::ExtFields {
                $name::to_ext(self)
            }
        }
    };
    (@ty req $ty:ty) => { $ty };
    (@ty opt $ty:ty) => { Option<$ty> };
    (@ty def $ty:ty) => { $ty };
    (@get $ext:ident, req $ty:ty, $key:literal) => { $crate::ext::get::<$ty>($ext, $key)? };
    (@get $ext:ident, opt $ty:ty, $key:literal) => { $crate::ext::get_opt::<$ty>($ext, $key)? };
    (@get $ext:ident, def $ty:ty, $key:literal, $default:expr) => {
        $crate::ext::get_or::<$ty>($ext, $key, $default)?
    };
    (@put $ext:ident, req, $key:literal, $v:expr) => { $crate::ext::put(&mut $ext, $key, $v) };
    (@put $ext:ident, def, $key:literal, $v:expr) => { $crate::ext::put(&mut $ext, $key, $v) };
    (@put $ext:ident, opt, $key:literal, $v:expr) => { $crate::ext::put_opt(&mut $ext, $key, $v) };
}
pub(crate) use ext_header;

/// A header with no fields (HEART_BEAT, LOCK/UNLOCK_BATCH_MQ, GET_BROKER_CLUSTER_INFO …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmptyHeader;

impl CommandHeader for EmptyHeader {
    fn from_ext(_ext: &ExtFields) -> Result<Self, HeaderError> {
        Ok(EmptyHeader)
    }
    fn to_ext(&self) -> ExtFields {
        ExtFields::new()
    }
}
