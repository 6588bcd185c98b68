//! Example job: counts the messages of a topic per tag, consuming it as a consumer group with
//! [`sluice_timely_source::consumer_source`], and prints the final counts (one JSON object on a
//! line starting with `counts `, from worker 0) once every worker saw no message for `--idle`
//! seconds.
//!
//! ```text
//! sluice-timely-count --namesrv 127.0.0.1:9876 --topic T --group G --idle 3 -- -w 2
//! sluice-timely-count ... -- -n 2 -p 0 -h hosts.txt   # and -p 1 on the other process
//! ```
//! Everything after `--` goes to timely (`-w`, `-n`, `-p`, `-h`).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use sluice_timely_source::{consumer_source, SourceConfig};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::Probe;

#[derive(Parser, Debug)]
#[command(about = "Counts a topic's messages per tag on timely workers")]
struct Args {
    /// NameServer address (repeatable).
    #[arg(long, required = true)]
    namesrv: Vec<String>,
    #[arg(long)]
    topic: String,
    #[arg(long, default_value = "sluice-timely-count")]
    group: String,
    /// Seconds without a message after which a worker stops.
    #[arg(long, default_value_t = 3.0)]
    idle: f64,
    /// Epoch length in milliseconds.
    #[arg(long, default_value_t = 50)]
    epoch_ms: u64,
    /// Arguments for timely (`-w`, `-n`, `-p`, `-h`), after `--`.
    #[arg(last = true)]
    timely: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match timely::Config::from_args(args.timely.clone().into_iter()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("timely arguments: {e}");
            return ExitCode::from(2);
        }
    };
    let mut source = SourceConfig::new(args.namesrv.clone(), args.topic.clone(), args.group.clone());
    source.epoch = Duration::from_millis(args.epoch_ms.max(1));
    source.idle = Some(Duration::from_secs_f64(args.idle.max(0.0)));
    let guards = timely::execute(config, move |worker| {
        let probe = ProbeHandle::<u64>::new();
        let first = worker.index() == 0;
        let built = worker.dataflow::<u64, _, _>(|scope| {
            let messages = consumer_source(scope, source.clone(), &probe)?;
            messages
                .map(|r| r.tags.unwrap_or_default())
                .unary_frontier(Exchange::new(|_: &String| 0u64), "count-per-tag", |_, _| {
                    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
                    let mut printed = false;
                    move |(input, frontier), output| {
                        input.for_each_time(|time, data| {
                            let mut seen = 0u64;
                            for tags in data {
                                for tag in tags.drain(..) {
                                    *counts.entry(tag).or_default() += 1;
                                    seen += 1;
                                }
                            }
                            output.session(&time).give(seen);
                        });
                        if frontier.is_empty() && !printed && first {
                            printed = true;
                            match serde_json::to_string(&counts) {
                                Ok(s) => println!("counts {s}"),
                                Err(e) => eprintln!("counts: {e}"),
                            }
                        }
                    }
                })
                .container::<Vec<u64>>()
                .probe_with(&probe);
            Ok::<_, sluice_timely_source::SourceError>(())
        });
        if let Err(e) = built {
            eprintln!("worker {}: {e}", worker.index());
            std::process::exit(1);
        }
    });
    match guards {
        Ok(g) => {
            drop(g);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("timely: {e}");
            ExitCode::FAILURE
        }
    }
}
