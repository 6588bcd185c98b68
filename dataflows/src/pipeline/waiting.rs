//! Stage (D), "schedule": the advances of the broker's own waiting topics (delay levels,
//! timers, half messages) go to the scheduler's hook as data; every other advance flows on to
//! delivery. Nothing here holds a capability for a wait: a waiting message is data with a due
//! time in the scheduler, which re-enters it through the ingress when it is due.

use sluice_storage::store::QueueAdvance;
use sluice_storage::system_topics;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;

use super::ScheduleHook;

/// Whether `topic` holds messages that wait (the scheduler's, never a consumer's).
pub fn is_waiting_topic(topic: &str) -> bool {
    topic == system_topics::HALF_TOPIC || system_topics::is_schedule_topic(topic)
}

/// Splits queue advances between the scheduler and delivery.
pub trait Schedule<'scope> {
    /// Hands the advances of waiting topics to `hook` (one call per batch that has any) and
    /// returns the others.
    fn schedule(self, hook: ScheduleHook) -> StreamVec<'scope, u64, QueueAdvance>;
}

impl<'scope> Schedule<'scope> for StreamVec<'scope, u64, QueueAdvance> {
    fn schedule(self, hook: ScheduleHook) -> StreamVec<'scope, u64, QueueAdvance> {
        self.unary(Pipeline, "schedule", move |_cap, _info| {
            move |input, output| {
                input.for_each_time(|time, data| {
                    let mut waiting = Vec::new();
                    let mut session = output.session(&time);
                    for adv in data.flat_map(|d| d.drain(..)) {
                        if is_waiting_topic(&adv.topic) {
                            waiting.push(adv);
                        } else {
                            session.give(adv);
                        }
                    }
                    if !waiting.is_empty() {
                        hook(&waiting);
                    }
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use timely::dataflow::operators::{Capture, ToStream};

    use super::*;
    use crate::pipeline::tests::captured;

    fn adv(topic: &str, queue_id: u32, max_offset: u64) -> QueueAdvance {
        QueueAdvance {
            topic: topic.into(),
            queue_id,
            max_offset,
        }
    }

    #[test]
    fn waiting_topics_go_to_the_scheduler_and_the_rest_on() {
        let scheduled = Arc::new(Mutex::new(Vec::new()));
        let seen = scheduled.clone();
        let input = vec![
            adv("Orders", 0, 1),
            adv(system_topics::SCHEDULE_TOPIC, 2, 5),
            adv(system_topics::HALF_TOPIC, 0, 3),
            adv("Orders", 1, 7),
        ];
        let out = timely::example(move |scope| {
            input
                .to_stream(scope)
                .container::<Vec<_>>()
                .schedule(Arc::new(move |a: &[QueueAdvance]| {
                    seen.lock().unwrap().extend(a.iter().cloned())
                }))
                .capture()
        });
        let delivered: Vec<QueueAdvance> = captured(out);
        assert_eq!(delivered, [adv("Orders", 0, 1), adv("Orders", 1, 7)]);
        assert_eq!(
            scheduled.lock().unwrap().as_slice(),
            [
                adv(system_topics::SCHEDULE_TOPIC, 2, 5),
                adv(system_topics::HALF_TOPIC, 0, 3)
            ]
        );
    }
}
