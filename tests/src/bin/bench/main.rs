//! Benchmarks, run in release mode: `cargo run --release -p outreach-tests --bin bench -- local`
//! (the device's store) or `-- sync [--database URL]` (the hub and syncing, embedded or on
//! PostgreSQL). Each figure is printed as one
//! `name value unit` line. `local --export DIR` also leaves in DIR, for the Kotlin replay of `android/host-test.sh
//! --bench`, the bench store as the timed phase finds it, its key, the timed visits and queries.

mod load;
mod local;
mod sync;

use std::path::Path;

/// Result of a benchmark step.
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> std::process::ExitCode {
    let which = std::env::args().nth(1).unwrap_or_default();
    // Internal: a validator of the hub of `sync` (it starts them from this program).
    if which == outreach_hub::VALIDATOR_ARG {
        return outreach_hub::validator_main();
    }
    let args: Vec<String> = std::env::args().skip(2).collect();
    let result = match which.as_str() {
        "local" => match args.as_slice() {
            [] => local::run(None),
            // Keeps the bench store, its key and the timed queries in DIR, for the same workload
            // replayed through the Kotlin bindings (`android/host-test.sh --bench`).
            [flag, dir] if flag == "--export" => local::run(Some(Path::new(dir))),
            _ => Err("usage: bench local [--export DIR]".into()),
        },
        // The bench's directory alone, for the Kotlin host tests' searches and syncs.
        "directory" => match args.as_slice() {
            [dir] => local::export_directory(Path::new(dir)),
            _ => Err("usage: bench directory DIR".into()),
        },
        "sync" => sync::run(&args),
        // Internal: the load generator of `sync`'s `hub_syncs_per_s`, a process of its own.
        "load" => load::run(&args),
        // Internal: the other device of `local`, run as its own process so that its memory does
        // not count in the measured device's peak.
        "replica-edits" if args.len() == 2 => local::replica_edits(Path::new(&args[0]), Path::new(&args[1])),
        // Internal: the hub of `sync`, in its own process so that its memory is its own.
        "hub-serve" => sync::serve_hub(&args),
        other => Err(format!("unknown benchmark {other:?}; try: local, sync, directory").into()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
