//! sluice's broker pipeline as timely dataflow stages (design.md §2).
//!
//! * [`pipeline`] — the core runtime: ingress (one epoch = one group commit) → append → dispatch
//!   → delivery, on one timely worker thread named `sluice-core`. Producers are acked when the
//!   probe after append passes their epoch (after fdatasync under SYNC_FLUSH).
//!   Stage (D) hands advances of the waiting topics to a hook; the broker's scheduler (delay
//!   levels, timers, half messages: broker policy, in `sluice::broker::schedule`) keeps them
//!   as data with due times and re-enters due ones through the ingress.
//! * [`analytics`] — differential dataflows attached to live topics on a second timely runtime
//!   (`sluice-analytics`), woken by stage (E); built-in counts, top-N and lag; results tables.

pub mod analytics;
pub mod pipeline;

pub use pipeline::{
    AppendReply, AppendRequest, CorePipeline, PipelineError, ReplicaAcks, StageHooks, Submitter,
    SyncReplication,
};
