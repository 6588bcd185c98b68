//! sluice's broker pipeline as timely dataflow stages (design.md §2).
//!
//! * [`pipeline`] — the core runtime: ingress (one epoch = one group commit) → append → dispatch
//!   → delivery, on one timely worker thread named `sluice-core`. Producers are acked when the
//!   probe after append passes their epoch (after fdatasync under SYNC_FLUSH).

pub mod pipeline;

pub use pipeline::{AppendReply, AppendRequest, CorePipeline, PipelineError};
