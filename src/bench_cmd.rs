//! `sluice bench …`: the benchmarks of `sluice-bench` (crate `bench/`), run in this process with
//! the remaining arguments, so `sluice bench broker --quick` works from this binary alone.

use std::ffi::OsString;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Passed to the benchmarks as given, e.g. `broker --quick` (see `sluice bench --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}

/// Runs the benchmark and returns the process's exit code (errors are printed on one line).
pub fn run(args: BenchArgs) -> i32 {
    sluice_bench::main(sluice_bench::Host::Sluice, args.args)
}
