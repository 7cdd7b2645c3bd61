//! Lists the inputs of a corpus that are poisoned change sets: Automerge applies them to the
//! stored document and then cannot load back what it saves (`raw`, with no check of the
//! project's own; see `outreach_fuzz::poisoned`), and among them those that the hub refuses
//! only at its round trip (`round trip`: they passed every other check). Writes the smallest
//! of the first kind to a file: `cargo run --release --example poisoned -- artifacts/poison OUT`.

use std::path::Path;

use outreach_hub::fuzzing::Scenario;

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    let args: Vec<String> = std::env::args().collect();
    let (dir, out) = (Path::new(&args[1]), Path::new(&args[2]));
    let fixture = outreach_fuzz::fixture(false);
    let mut found: Vec<(usize, std::path::PathBuf)> = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("a corpus")
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let data = std::fs::read(entry.path()).expect("an input");
        let [selector, arg, bytes @ ..] = data.as_slice() else {
            continue;
        };
        let scenario = Scenario::of(*selector, *arg);
        let Some(stored) = outreach_fuzz::stored_automerge(scenario) else {
            continue;
        };
        let Ok(Some(why)) = std::panic::catch_unwind(|| outreach_fuzz::poisoned(stored, bytes)) else {
            continue;
        };
        let (meta, token) = fixture.target(scenario);
        let hub = match std::panic::catch_unwind(|| fixture.push(token, meta, bytes.to_vec())) {
            Ok(Ok(resp)) => match resp.refused.iter().find(|r| r.id == meta.id()) {
                Some(r) if r.reason.contains("does not load back") => "refused at the round trip".into(),
                Some(r) => format!("refused before the round trip: {}", r.reason),
                None => "TAKEN".into(),
            },
            Ok(Err(e)) => format!("request refused: {e}"),
            Err(_) => "the hub panicked".into(),
        };
        println!(
            "{} bytes: {} (raw: {why}; hub: {hub})",
            data.len(),
            entry.path().display()
        );
        found.push((data.len(), entry.path()));
    }
    found.sort();
    match found.first() {
        Some((_, smallest)) => {
            std::fs::copy(smallest, out).expect("a copy");
            println!("smallest written to {}", out.display());
        }
        None => println!("none"),
    }
}
