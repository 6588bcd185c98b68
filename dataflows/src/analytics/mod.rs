//! Analytics attached to live topics (design.md §4): differential dataflows over a topic's
//! messages, on a timely runtime of their own (thread `sluice-analytics`), attached and detached
//! while the broker runs.
//!
//! * [`runtime`] — [`AnalyticsRuntime`]: the worker thread, attach / detach, the jobs file, and
//!   [`AnalyticsWaker`], the second consumer of the core's stage (E) delivery hook.
//! * [`source`] — the topic source: tails the topic's ConsumeQueues by offset, emits
//!   `(Message, round, +1)`.
//! * [`builtin`] — counts per window and topic / tag / key, top-N, consumer-group lag.
//! * [`results`] — the published [`Row`] tables and how far each reflects the topic.
//!
//! # User-defined jobs
//!
//! Implement [`Analytic`]: turn the collection of a topic's messages into a collection of
//! [`Row`]s with differential operators, then attach it with [`AnalyticsRuntime::attach_custom`].
//! The runtime keeps the rows whose rounds the job's probe has passed in [`results::Results`].
//!
//! ```no_run
//! use differential_dataflow::VecCollection;
//! use sluice_dataflows::analytics::{Analytic, CustomJob, Message, Row, StartAt};
//!
//! /// Body bytes per tag.
//! struct BytesPerTag;
//!
//! impl Analytic for BytesPerTag {
//!     fn build<'scope>(
//!         &self,
//!         messages: VecCollection<'scope, u64, Message, isize>,
//!     ) -> VecCollection<'scope, u64, Row, isize> {
//!         messages
//!             // one record per byte would be wasteful: count each message with its size as
//!             // the key, then sum per tag in a reduce
//!             .map(|m| (m.tags.unwrap_or_default(), m.body_len as i64))
//!             .reduce(|_tag, sizes, out: &mut Vec<(i64, isize)>| {
//!                 let total: i64 = sizes.iter().map(|(s, n)| **s * *n as i64).sum();
//!                 out.push((total, 1));
//!             })
//!             .map(|(tag, total)| Row { window: 0, key: tag, value: total })
//!     }
//! }
//!
//! # fn demo(runtime: &sluice_dataflows::analytics::AnalyticsRuntime) {
//! runtime
//!     .attach_custom(CustomJob {
//!         name: "bytes-per-tag".into(),
//!         topic: "orders".into(),
//!         start: StartAt::Earliest,
//!         analytic: Box::new(BytesPerTag),
//!     })
//!     .expect("attach");
//! let rows = runtime.results().get("bytes-per-tag").map(|r| r.rows);
//! # let _ = rows;
//! # }
//! ```
//!
//! `dataflows/examples/analytics_custom.rs` runs this against a real store.
//!
//! Rules of thumb: project what you need before any `count` / `reduce` / `join` (arrangements are
//! in memory; never arrange bodies); a job sees each message once, as `+1`; rounds are how
//! the source happened to batch reads, so results must not depend on them.

pub mod builtin;
pub mod results;
pub mod runtime;
pub mod source;

use differential_dataflow::VecCollection;

pub use builtin::{By, JobKind, JobSpec, StartAt};
pub use results::{JobResults, Results, Row};
pub use runtime::{AnalyticsConfig, AnalyticsError, AnalyticsRuntime, AnalyticsWaker, CustomJob, JobInfo};
pub use source::Message;

/// A dataflow over one topic's messages, producing result rows.
pub trait Analytic: Send + 'static {
    /// Whether the source must copy message bodies into [`Message::body`] (off by default).
    fn needs_body(&self) -> bool {
        false
    }

    /// Builds the job inside its dataflow: `messages` holds each message of the topic (from the
    /// job's start) once; the returned collection is the job's result table.
    fn build<'scope>(
        &self,
        messages: VecCollection<'scope, u64, Message, isize>,
    ) -> VecCollection<'scope, u64, Row, isize>;
}
