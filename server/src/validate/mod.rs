//! Pushed Automerge bytes are decoded and validated where the library's failures cannot touch
//! the serving process.
//!
//! Fuzzing found Automerge 0.12 (and its column library hexane) aborting the process on a few
//! hundred crafted bytes (an allocation of gigabytes that fails), panicking at a score of places,
//! and accepting change sets that it then cannot load back. An abort is not a panic: no
//! `catch_unwind` can stop it. So the hub hands each pushed document to a pool of validator
//! processes (`outreach-hub validate-worker`, or any program that calls [`validator_main`]),
//! each limited in memory (`RLIMIT_AS`) and in CPU time per document (`RLIMIT_CPU`, raised
//! before each job by what the job may use), with a wall-clock deadline enforced from the hub,
//! and replaced when one dies. A document whose validation dies, exceeds a limit or panics is
//! refused with `invalid_document` and a reason saying so; the hub keeps serving.
//!
//! A validator returns what to store (the new changes, or a whole snapshot) only after checking
//! that it loads back to the same heads; the hub stores those bytes and reads only stored
//! bytes. Processes rather than threads or a WebAssembly sandbox: an abort needs an address space
//! of its own, and this machine's toolchain builds no WebAssembly target.

mod job;
mod pool;
mod worker;

pub(crate) use job::{Accepted, Job, Spent, Verdict};
pub(crate) use pool::Validator;
pub use pool::{Isolation, ValidatorLimits};
pub use worker::validator_main;

/// The first argument with which a program runs as a validator.
pub const VALIDATOR_ARG: &str = "validate-worker";
