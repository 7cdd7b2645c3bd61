//! Lists the inputs of a corpus that the hub refuses because the document they make does not
//! load back ("poisoned": Automerge accepted the changes, then cannot read them back), and writes
//! the smallest to a file: `cargo run --release --example poisoned -- corpus/accept OUT`.

use std::path::Path;

fn main() {
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
        let (meta, token) = fixture.target(outreach_hub::fuzzing::Scenario::of(*selector, *arg));
        let Ok(resp) = std::panic::catch_unwind(|| fixture.push(token, meta, bytes.to_vec())) else {
            continue;
        };
        if let Ok(resp) = resp {
            if resp
                .refused
                .iter()
                .any(|r| r.reason.contains("does not load back"))
            {
                println!("{} bytes: {}", data.len(), entry.path().display());
                found.push((data.len(), entry.path()));
            }
        }
    }
    found.sort();
    if let Some((_, smallest)) = found.first() {
        std::fs::copy(smallest, out).expect("a copy");
        println!("smallest written to {}", out.display());
    } else {
        println!("none");
    }
}
