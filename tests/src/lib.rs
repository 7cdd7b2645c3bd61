//! Shared pieces of Outreach's multi-device tests and benchmarks: seeded data generators and
//! measurement helpers.

pub mod gen;
pub mod harness;
pub mod proxy;
pub mod stats;
