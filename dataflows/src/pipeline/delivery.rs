//! Stage (E), "delivery": every queue that became readable is handed to the broker's hook in
//! one batch per activation, which wakes the long polls parked on those queues (and the
//! analytics runtime).

use sluice_storage::store::QueueAdvance;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::StreamVec;

use super::DeliveryHook;

/// Ends the pipeline at the delivery hook.
pub trait Deliver {
    /// Calls `hook` with the advances that arrived since the last call (never with none).
    fn deliver(self, hook: DeliveryHook);
}

impl<'scope> Deliver for StreamVec<'scope, u64, QueueAdvance> {
    fn deliver(self, hook: DeliveryHook) {
        self.sink(Pipeline, "delivery", move |(input, _frontier)| {
            let mut batch = Vec::new();
            input.for_each(|_time, data| batch.append(data));
            if !batch.is_empty() {
                hook(&batch);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use timely::dataflow::operators::ToStream;

    use super::*;

    #[test]
    fn every_advance_reaches_the_hook_and_no_call_is_empty() {
        let calls = Arc::new(Mutex::new(Vec::<Vec<QueueAdvance>>::new()));
        let seen = calls.clone();
        let input: Vec<QueueAdvance> = (0..10)
            .map(|q| QueueAdvance {
                topic: "T".into(),
                queue_id: q,
                max_offset: u64::from(q) + 1,
            })
            .collect();
        let expected = input.clone();
        timely::example(move |scope| {
            input
                .to_stream(scope)
                .container::<Vec<_>>()
                .deliver(Arc::new(move |a: &[QueueAdvance]| {
                    seen.lock().unwrap().push(a.to_vec())
                }));
        });
        let calls = calls.lock().unwrap();
        assert!(calls.iter().all(|c| !c.is_empty()));
        let all: Vec<QueueAdvance> = calls.iter().flatten().cloned().collect();
        assert_eq!(all, expected);
    }
}
