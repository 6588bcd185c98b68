//! `sluice-bench`: the benchmarks of this crate (see `lib.rs`); `sluice bench` runs the same.

fn main() {
    std::process::exit(sluice_bench::main(
        sluice_bench::Host::SluiceBench,
        std::env::args_os().skip(1),
    ));
}
