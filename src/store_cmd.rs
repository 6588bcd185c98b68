//! `sluice store …`: open a data directory (running recovery exactly as the broker would) and
//! print what is in it (`inspect`), or import a store Apache RocketMQ wrote into a new sluice data
//! directory (`import`), leaving the original untouched.

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
    /// Import the store Apache RocketMQ 4.9 wrote in FROM (its storePathRootDir: commitlog/ and
    /// config/*.json) into a new sluice data directory: the CommitLog segments are copied (FROM
    /// stays as it was, a RocketMQ broker can still open it), ConsumeQueues and IndexFiles are
    /// rebuilt from them, and topics, subscription groups, consumer offsets and delay progress
    /// are imported. Then run sluice with storePathRootDir=DATA_DIR.
    Import {
        /// The RocketMQ store root (the broker stopped).
        #[arg(long)]
        from: PathBuf,
        /// The new sluice store root (must not hold a store yet).
        #[arg(long)]
        data_dir: PathBuf,
        /// mappedFileSizeCommitLog the RocketMQ store was written with (its segment size).
        #[arg(long, default_value_t = 1 << 30)]
        commitlog_file_size: u64,
    },
}

/// Copies the files of `from` into `to` (created), in name order; the bytes copied.
fn copy_dir(
    from: &std::path::Path,
    to: &std::path::Path,
    filter: impl Fn(&str) -> bool,
) -> Result<(usize, u64)> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut names: Vec<_> = std::fs::read_dir(from)
        .with_context(|| format!("reading {}", from.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .map(|e| e.file_name())
        .filter(|n| n.to_str().is_some_and(&filter))
        .collect();
    names.sort();
    let mut bytes = 0;
    for n in &names {
        let (src, dst) = (from.join(n), to.join(n));
        eprintln!("import: copying {}", src.display());
        bytes += std::fs::copy(&src, &dst)
            .with_context(|| format!("copying {} to {}", src.display(), dst.display()))?;
    }
    Ok((names.len(), bytes))
}

fn import(from: &std::path::Path, data_dir: &std::path::Path, commitlog_file_size: u64) -> Result<()> {
    let src_log = from.join("commitlog");
    anyhow::ensure!(
        src_log.is_dir(),
        "{} has no commitlog/: not a RocketMQ store root",
        from.display()
    );
    let dst_log = data_dir.join("commitlog");
    if dst_log.is_dir() && std::fs::read_dir(&dst_log)?.next().is_some() {
        anyhow::bail!(
            "{} already holds a store: import into a new directory",
            data_dir.display()
        );
    }
    let (segments, bytes) = copy_dir(&src_log, &dst_log, |n| {
        n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit())
    })?;
    let src_config = from.join("config");
    let configs = if src_config.is_dir() {
        copy_dir(&src_config, &data_dir.join("config"), |n| n.ends_with(".json"))?.0
    } else {
        0
    };
    let config = StoreConfig {
        store_path_root_dir: data_dir.to_path_buf(),
        mapped_file_size_commit_log: commitlog_file_size,
        ..StoreConfig::default()
    };
    let store =
        MessageStore::open(config).with_context(|| format!("opening the store in {}", data_dir.display()))?;
    let report = store.open_report();
    let imported = crate::broker::migrate::import_rocketmq_config(&store)?.unwrap_or_default();
    println!(
        "imported {} into {}: {segments} CommitLog segments ({bytes} bytes), {} messages recovered, {} queues rebuilt; \
         from {configs} config files: {} topics, {} subscription groups, {} consumer offsets, {} delay levels",
        from.display(),
        data_dir.display(),
        report.commitlog.records,
        store.queue_ids().len(),
        imported.topics,
        imported.groups,
        imported.offsets,
        imported.delay_levels,
    );
    store.close()?;
    Ok(())
}

pub fn run(cmd: StoreCommand) -> Result<()> {
    match cmd {
        StoreCommand::Import {
            from,
            data_dir,
            commitlog_file_size,
        } => import(&from, &data_dir, commitlog_file_size),
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
