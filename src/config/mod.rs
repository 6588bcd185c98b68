//! Configuration files: Java properties parsing and the broker / NameServer settings; [`host`]
//! finds this host's own address (the default `brokerIP1`).

pub mod host;
pub mod properties;
