//! The parts of `sluice-bench` its tests use as well: the broker benchmark's report schema
//! (`report`), its SVG chart (`plot`), the machine facts every report records (`machine`) and
//! the latency histogram every latency figure comes from (`latency`).
//! Everything else lives in the binary (`main.rs`).

pub mod latency;
pub mod machine;
pub mod plot;
pub mod report;
