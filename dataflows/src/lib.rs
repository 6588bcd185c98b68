//! sluice's broker pipeline as timely dataflow stages (design.md §2).
//!
//! * [`pipeline`] — the core runtime: ingress (one epoch = one group commit) → append → dispatch
//!   → delivery, on one timely worker thread named `sluice-core`. Producers are acked when the
//!   probe after append passes their epoch (after fdatasync under SYNC_FLUSH).
//! * [`schedule`] — stage (D): delay levels, timers and transactional half messages kept as
//!   data with due times on the `sluice-schedule` thread; due messages re-enter the ingress.
//! * [`analytics`] — differential dataflows attached to live topics on a second timely runtime
//!   (`sluice-analytics`), woken by stage (E); built-in counts, top-N and lag; results tables.

pub mod analytics;
pub mod pipeline;
pub mod schedule;

pub use pipeline::{AppendReply, AppendRequest, CorePipeline, PipelineError, StageHooks, Submitter};
