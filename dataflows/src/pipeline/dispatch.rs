//! Stage (C), "dispatch": the CommitLog up to the highest end offset of an epoch is indexed
//! into ConsumeQueues and IndexFiles; the queues that advanced flow on.

use std::sync::Arc;

use sluice_storage::store::QueueAdvance;
use sluice_storage::MessageStore;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;

/// Dispatches appended log ranges.
pub trait Dispatch<'scope> {
    /// For each time, dispatches `store` up to the greatest `end` of its `(epoch, end)` records
    /// and emits the queues that advanced. A failed dispatch is logged and retried by the next
    /// epoch (dispatch always resumes from what is already indexed).
    fn dispatch(self, store: Arc<MessageStore>) -> StreamVec<'scope, u64, QueueAdvance>;
}

impl<'scope> Dispatch<'scope> for StreamVec<'scope, u64, (u64, u64)> {
    fn dispatch(self, store: Arc<MessageStore>) -> StreamVec<'scope, u64, QueueAdvance> {
        self.unary(Pipeline, "dispatch", move |_cap, _info| {
            move |input, output| {
                input.for_each_time(|time, data| {
                    let end = data
                        .flat_map(|d| d.drain(..))
                        .map(|(_, end)| end)
                        .max()
                        .unwrap_or(0);
                    match store.dispatch_to(end) {
                        Ok(adv) if !adv.is_empty() => {
                            output.session(&time).give_iterator(adv.into_iter());
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::error!(error = %e, "dispatch failed; will retry with the next group")
                        }
                    }
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use timely::dataflow::operators::{Capture, ToStream};

    use super::*;
    use crate::pipeline::tests::{captured, msg, open_store};

    #[test]
    fn an_epoch_dispatches_up_to_its_end_and_reports_the_queues_that_advanced() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path(), sluice_storage::FlushDiskType::AsyncFlush);
        let first = store
            .append(&[vec![msg("T", 0, "a")], vec![msg("T", 1, "b")]])
            .unwrap()
            .end_offset;
        let second = store.append(&[vec![msg("T", 1, "c")]]).unwrap().end_offset;
        // Epoch 0 reaches only the first two messages; epoch 1 the third.
        let st = store.clone();
        let out = timely::example(move |scope| {
            vec![(0u64, first)]
                .to_stream(scope)
                .container::<Vec<_>>()
                .dispatch(st)
                .capture()
        });
        let got: Vec<QueueAdvance> = captured(out);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(store.max_queue_offset("T", 1), 1);
        let st = store.clone();
        let out = timely::example(move |scope| {
            vec![(1u64, second)]
                .to_stream(scope)
                .container::<Vec<_>>()
                .dispatch(st)
                .capture()
        });
        let got: Vec<QueueAdvance> = captured(out);
        assert_eq!(
            got,
            [QueueAdvance {
                topic: "T".into(),
                queue_id: 1,
                max_offset: 2
            }]
        );
        assert_eq!(store.dispatched_offset(), second);
    }
}
