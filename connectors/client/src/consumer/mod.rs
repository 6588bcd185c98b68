//! Consumers: [`pull::PullConsumer`] (application-driven pulls and offsets),
//! [`push::PushConsumer`] (rebalance, long polling, listeners) and the queue-allocation
//! strategies ([`allocate`]).

pub mod allocate;
pub mod pull;
pub mod push;

pub use allocate::{AllocateStrategy, MachineRoomResolver};
pub use pull::{PullConsumer, PullOptions, PullResult, PullStatus};
pub use push::{ConsumeFrom, PushConfig, PushConsumer};
