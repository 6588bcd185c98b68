//! Consumers: [`pull::PullConsumer`] (application-driven pulls and offsets).

pub mod pull;

pub use pull::{PullConsumer, PullOptions, PullResult, PullStatus};
