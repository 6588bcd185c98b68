//! Configuration files: Java properties parsing and the broker / NameServer settings.

pub mod properties;
