//! `sluice store …`: open a data directory (running recovery exactly as the broker would) and
//! print what is in it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use sluice_storage::{MessageStore, StoreConfig};

#[derive(Subcommand)]
pub enum StoreCommand {
    /// Recover the store in DIR (storePathRootDir) and print its segments, queues and checkpoint.
    Inspect {
        /// The store's root directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// mappedFileSizeCommitLog the store was written with.
        #[arg(long, default_value_t = 1 << 30)]
        commitlog_file_size: u64,
    },
}

pub fn run(cmd: StoreCommand) -> Result<()> {
    match cmd {
        StoreCommand::Inspect {
            data_dir,
            commitlog_file_size,
        } => {
            let config = StoreConfig {
                store_path_root_dir: data_dir.clone(),
                mapped_file_size_commit_log: commitlog_file_size,
                ..StoreConfig::default()
            };
            let store = MessageStore::open(config)
                .with_context(|| format!("opening the store in {}", data_dir.display()))?;
            let report = store.open_report();
            println!(
                "store {}  ({} shutdown)",
                data_dir.display(),
                if report.unclean { "unclean" } else { "clean" }
            );
            let cl = store.commitlog();
            println!(
                "commitlog: min {} max {} durable {}  recovered {} records from {}{}",
                cl.min_offset(),
                cl.write_pos(),
                store.flusher().durable_offset(),
                report.commitlog.records,
                report.commitlog.scanned_from,
                report
                    .commitlog
                    .discarded_tail
                    .as_ref()
                    .map(|(at, why)| format!(", discarded a torn tail at {at}: {why}"))
                    .unwrap_or_default()
            );
            for seg in cl.segments() {
                println!("  segment {}", seg.path().display());
            }
            println!("consume queues:");
            for (topic, qid) in store.queue_ids() {
                println!(
                    "  {topic}/{qid}: min {} max {}",
                    store.min_queue_offset(&topic, qid),
                    store.max_queue_offset(&topic, qid)
                );
            }
            store.close()?;
            Ok(())
        }
    }
}
