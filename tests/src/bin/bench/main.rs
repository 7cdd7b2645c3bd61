//! Benchmarks, run in release mode: `cargo run --release -p outreach-tests --bin bench -- local`
//! (the device's store) or `-- sync` (the hub and syncing). Each figure is printed as one
//! `name value unit` line.

mod local;
mod sync;

use std::path::Path;

/// Result of a benchmark step.
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let args: Vec<String> = std::env::args().skip(2).collect();
    let result = match which.as_str() {
        "local" => local::run(),
        "sync" => sync::run(),
        // Internal: the other device of `local`, run as its own process so that its memory does
        // not count in the measured device's peak.
        "replica-edits" if args.len() == 2 => local::replica_edits(Path::new(&args[0]), Path::new(&args[1])),
        // Internal: the hub of `sync`, in its own process so that its memory is its own.
        "hub-serve" if args.len() == 1 => sync::serve_hub(Path::new(&args[0])),
        other => Err(format!("unknown benchmark {other:?}; try: local, sync").into()),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
