//! The parts of `sluice-bench` its tests use as well: the broker benchmark's report schema
//! (`report`), its SVG chart (`plot`) and the machine facts every report records (`machine`).
//! Everything else lives in the binary (`main.rs`).

pub mod machine;
pub mod plot;
pub mod report;
