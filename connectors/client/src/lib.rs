//! `sluice-client`: a tokio client for brokers speaking the RocketMQ remoting protocol
//! (`shared/docs/protocol.md`), sluice's and any RocketMQ 4.x/5.x broker.
//!
//! * [`transport`] — multiplexed connections, request/response by opaque, oneway,
//!   broker-initiated requests;
//! * [`namesrv`], [`route`], [`instance`] — NameServers with fail-over, the route cache,
//!   heartbeats and route refresh every 30 s;
//! * [`message`] — messages, properties, the stored layout, message ids;
//! * [`producer`] — sync, async, oneway, batch, ordered and transactional sends with retry on
//!   another broker and latency-based fault avoidance;
//! * [`consumer`] — pull and push consumers, offsets, the allocation strategies ([`consumer::allocate`]).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod consumer;
pub mod error;
pub mod instance;
pub mod message;
pub mod namesrv;
pub mod producer;
pub mod route;
pub mod transport;

pub use consumer::{PullConsumer, PullResult, PullStatus, PushConfig, PushConsumer};
pub use error::{ClientError, Result};
pub use instance::{ClientConfig, ClientInstance};
pub use message::{Message, MessageExt};
pub use producer::{Producer, ProducerConfig, SendResult, SendStatus};
pub use sluice_remoting::body::MessageQueue;
