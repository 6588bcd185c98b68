//! notebooks/archive.ipynb executed headless on an archive written through this crate: a store
//! with several small segments (tags, keys, the broker's own topics), every segment exported,
//! then the notebook must read the folder with pyarrow and DuckDB and count every row. Installs
//! the notebooks' venv first (notebooks/setup.sh, under ~/.cache/sluice/).

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use sluice_parquet::{export_segment, ExportOptions};
use sluice_storage::{MessageStore, MessageToStore};

fn repo() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()))
        .ancestors()
        .nth(2)
        .expect("connectors/parquet is two levels down")
        .to_owned()
}

mod common;

fn write_archive(dir: &Path, out: &Path) -> u64 {
    let config = common::small_store(dir, &[]);
    let store = MessageStore::open(config).expect("opening the store");
    let n = 600;
    for i in 0..n {
        let topic = match i % 10 {
            0 => "%RETRY%billing".to_owned(),
            1..=4 => "orders".to_owned(),
            _ => "payments".to_owned(),
        };
        let tag = ["created", "paid", "shipped"][i % 3];
        let m = MessageToStore {
            topic,
            queue_id: (i % 4) as u32,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000 + i as i64,
            born_host: "192.168.7.9:40000".parse().expect("address"),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from(vec![b'a' + (i % 26) as u8; 50 + (i * 37) % 900]),
            properties: format!(
                "KEYS\u{1}order-{} customer-{}\u{2}TAGS\u{1}{tag}\u{2}UNIQ_KEY\u{1}C0A8070900002A9F{i:016X}\u{2}",
                i,
                i % 17
            ),
        };
        store.put(&[vec![m]]).expect("put");
    }
    let segments: Vec<PathBuf> = store
        .commitlog()
        .segments()
        .iter()
        .map(|s| s.path().to_path_buf())
        .collect();
    store.close().expect("closing the store");
    assert!(segments.len() >= 3);
    let mut rows = 0;
    for seg in &segments {
        rows += export_segment(seg, out, &ExportOptions::default(), &mut |_| true)
            .expect("export")
            .rows;
    }
    assert_eq!(rows, n as u64);
    rows
}

#[test]
fn archive_notebook_executes_on_a_generated_archive() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("archive");
    let rows = write_archive(&dir.path().join("store"), &archive);

    // Installs the venv, then executes every cell; a cell that raises fails the run. With
    // NOTEBOOK_SAVE=1 the executed notebook, charts included, is written back (notebooks/README.md).
    let mut cmd = Command::new(repo().join("notebooks/run.sh"));
    if std::env::var("NOTEBOOK_SAVE").as_deref() == Ok("1") {
        cmd.arg("--save");
    }
    let out = cmd
        .arg(repo().join("notebooks/archive.ipynb"))
        .env("ARCHIVE_DIR", &archive)
        .env("ARCHIVE_EXPECT_ROWS", rows.to_string())
        .output()
        .expect("running the notebook");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the notebook failed:\n{printed}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains(&format!("{rows} rows, pyarrow and DuckDB agree")),
        "{printed}"
    );
}
