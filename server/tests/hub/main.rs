//! End-to-end tests of the hub: a real server on loopback, real HTTP (reqwest), bodies built
//! with core's protocol types and documents with core's `Document`. Every refusal checks that
//! the hub's stored data is unchanged.

mod access;
#[cfg(unix)]
mod at_rest;
mod audit;
mod bad_input;
mod blobs;
mod cli;
mod common;
mod concurrency;
mod enroll;
mod fuzz_regressions;
mod hardening;
mod hygiene;
mod instances;
#[cfg(unix)]
mod isolation;
mod migrate;
mod operations;
mod reports;
mod restart;
mod stewardship;
mod sync;
