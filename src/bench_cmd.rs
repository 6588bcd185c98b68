//! `sluice bench …`: runs the `sluice-bench` executable (crate `bench/`) with the remaining
//! arguments, so `sluice bench broker --quick` works once both binaries are built
//! (`cargo build --release --bin sluice -p sluice-bench`). The benchmarks stay out of the
//! broker binary; this only finds and starts them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Passed to `sluice-bench` as given, e.g. `broker --quick` (see `sluice bench --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}

const EXE: &str = "sluice-bench";

/// `sluice-bench` next to the running `sluice`, else the first one on PATH.
fn locate() -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(EXE)))
        .filter(|p| p.is_file());
    beside.or_else(|| {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(EXE))
                .find(|p| p.is_file())
        })
    })
}

/// Runs `sluice-bench` and returns its exit code.
pub fn run(args: BenchArgs) -> Result<i32> {
    let exe = locate().with_context(|| {
        format!(
            "no {EXE} next to this sluice or on PATH; build it with `cargo build --release -p sluice-bench`"
        )
    })?;
    let status = Command::new(&exe)
        .args(&args.args)
        .status()
        .with_context(|| format!("starting {}", exe.display()))?;
    Ok(status.code().unwrap_or(1))
}
