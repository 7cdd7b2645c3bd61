//! End-to-end tests of the `outreach` binary on real encrypted stores in temporary folders.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

/// The key of the sandbox stores.
const KEY: &str = "6f7574726561636820636c6920746573742073746f7265206b65792030303031";
/// Another valid key, which does not open them.
const WRONG_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A temporary folder in which commands run, with `outreach.db` as the default store.
struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temporary folder"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary with the words of `line` then `more` (the arguments that hold spaces) as
    /// arguments, run in the sandbox with `OUTREACH_KEY` set and no other Outreach variable.
    fn command(&self, line: &str, more: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_outreach"));
        c.args(line.split_whitespace())
            .args(more)
            .current_dir(self.dir.path())
            .env_remove("OUTREACH_STORE")
            .env_remove("OUTREACH_KEY_FILE")
            .env("OUTREACH_KEY", KEY);
        c
    }

    fn run_with(&self, line: &str, more: &[&str]) -> Output {
        self.command(line, more).output().expect("the binary runs")
    }

    fn run(&self, line: &str) -> Output {
        self.run_with(line, &[])
    }

    /// Runs a command that must succeed; returns its standard output.
    fn ok_with(&self, line: &str, more: &[&str]) -> String {
        succeeded(self.run_with(line, more))
    }

    fn ok(&self, line: &str) -> String {
        self.ok_with(line, &[])
    }

    /// Runs a command without `OUTREACH_KEY`.
    fn run_without_key(&self, line: &str) -> Output {
        self.command(line, &[])
            .env_remove("OUTREACH_KEY")
            .output()
            .expect("the binary runs")
    }

    /// Runs a command with another key in `OUTREACH_KEY`.
    fn run_with_key(&self, key: &str, line: &str) -> Output {
        self.command(line, &[])
            .env("OUTREACH_KEY", key)
            .output()
            .expect("the binary runs")
    }
}

/// The standard output of a command that must have succeeded.
fn succeeded(out: Output) -> String {
    assert!(
        out.status.success(),
        "expected success, got {:?}; stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The one error line of a command that must have failed with exit code 1.
fn failed(out: Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8(out.stderr).expect("UTF-8 errors");
    // SQLCipher may log its own lines on stderr; the CLI itself writes exactly one.
    let errors: Vec<&str> = stderr.lines().filter(|l| !l.contains(" CORE ")).collect();
    assert_eq!(errors.len(), 1, "expected one line, got: {stderr}");
    assert!(errors[0].starts_with("error: "), "{stderr}");
    errors[0].to_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("valid JSON")
}

#[test]
fn init_creates_a_store_that_only_its_key_opens() {
    let s = Sandbox::new();
    let store = s.path("outreach.db");

    let missing = failed(s.run("partners search"));
    assert!(missing.contains("outreach init"), "{missing}");
    assert!(
        !store.exists(),
        "a command other than init must not create a store"
    );

    let no_key = failed(s.run_without_key("init"));
    assert!(no_key.contains("no key"), "{no_key}");
    assert!(!store.exists());

    let device = s.ok("init");
    assert_eq!(device.trim().len(), 36, "a device id: {device}");
    assert!(store.exists());
    assert!(failed(s.run("init")).contains("already exists"));

    assert!(s.ok("partners search").contains("No partner found"));
    let no_key = failed(s.run_without_key("partners search"));
    assert!(no_key.contains("no key"), "{no_key}");
    let wrong = failed(s.run_with_key(WRONG_KEY, "partners search"));
    assert!(wrong.contains("wrong key"), "{wrong}");
    let short = failed(s.run_with_key(&KEY[..10], "partners search"));
    assert!(
        short.contains("64 hex characters") && !short.contains(&KEY[..10]),
        "{short}"
    );

    assert!(s.ok("brochures list").contains("No brochure"));
}

#[cfg(unix)]
#[test]
fn a_generated_key_file_is_private_and_opens_the_store() {
    use std::os::unix::fs::PermissionsExt;

    let s = Sandbox::new();
    let key_file = s.path("outreach.key");

    succeeded(s.run_without_key("init --generate-key outreach.key"));
    assert_eq!(
        fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let hex = fs::read_to_string(&key_file).unwrap();
    assert!(hex.trim().len() == 64 && hex.trim().bytes().all(|b| b.is_ascii_hexdigit()));

    let found = succeeded(s.run_without_key("partners search --key-file outreach.key"));
    assert!(found.contains("No partner found"));

    let exists = failed(s.run_without_key("--store other.db init --generate-key outreach.key"));
    assert!(exists.contains("already exists"), "{exists}");
    assert!(!s.path("other.db").exists());
    assert_eq!(
        fs::read_to_string(&key_file).unwrap(),
        hex,
        "the key file is left as it was"
    );

    fs::set_permissions(&key_file, fs::Permissions::from_mode(0o644)).unwrap();
    let open = failed(s.run_without_key("partners search --key-file outreach.key"));
    assert!(
        open.contains("group or others") && open.contains("0644"),
        "{open}"
    );
    assert!(!open.contains(hex.trim()));
}

#[test]
fn partners_are_added_edited_searched_and_audited() {
    let s = Sandbox::new();
    s.ok("init");
    let liege = s.ok_with(
        "partners add --region liege --kind public_agency --theme voluntary_return --language fr \
         --language ar --description fr=Retour --postcode 4000 --municipality Liège",
        &[
            "--name",
            "Fedasil Liège",
            "--phone",
            "+32 4 123 45 67",
            "--hours",
            "mon-fri 09:00-12:00",
        ],
    );
    let liege = liege.trim();
    let caw = s.ok_with(
        "partners add --region limburg --kind welfare_centre --theme psychosocial --postcode 3500 \
         --municipality Hasselt",
        &["--name", "CAW Limburg"],
    );
    let caw = caw.trim();

    let found = s.ok("partners search liege");
    assert!(
        found.contains(liege) && !found.contains(caw),
        "accents are ignored: {found}"
    );
    assert!(s.ok("partners search --place liege").contains(liege));
    let by_theme = s.ok("partners search --theme psychosocial");
    assert!(by_theme.contains(caw) && !by_theme.contains(liege), "{by_theme}");
    // 2026-11-16 is a Monday.
    assert!(s
        .ok_with("partners search --open-at", &["2026-11-16 10:00"])
        .contains(liege));
    assert!(!s
        .ok_with("partners search --open-at", &["2026-11-16 13:00"])
        .contains(liege));
    let listed = json(&s.ok("partners search --json"));
    assert_eq!(listed.as_array().map(Vec::len), Some(2));

    s.ok_with(
        &format!(
            "partners edit {liege} --email liege@example.org --add-theme legal --description nl=Terugkeer"
        ),
        &["--name", "Fedasil Liège Retour"],
    );
    let shown = s.ok(&format!("partners show {liege}"));
    for expected in [
        "Fedasil Liège Retour",
        "liege@example.org",
        "legal",
        "[nl] Terugkeer",
        "mon-fri 09:00-12:00",
    ] {
        assert!(shown.contains(expected), "{expected} missing from:\n{shown}");
    }
    assert!(shown.contains("verified:    never"), "{shown}");
    let entry = json(&s.ok(&format!("partners show {liege} --json")));
    assert_eq!(entry["email"], "liege@example.org");

    s.ok_with(
        &format!("partners verify {liege} --on 2026-11-20"),
        &["--by", "CONEX coordinator"],
    );
    assert!(s
        .ok(&format!("partners show {liege}"))
        .contains("2026-11-20 by CONEX coordinator"));

    // What needs checking, partners and their offices: never verified first, then the oldest;
    // verified in bulk, by their ids.
    let office_of = |id: &str| -> String {
        let entry = json(&s.ok(&format!("partners show {id} --json")));
        entry["locations"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone()
    };
    let (caw_office, liege_office) = (office_of(caw), office_of(liege));
    let stale = s.ok("partners stale --older-than 1d");
    let rows: Vec<&str> = stale.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{stale}");
    assert!(rows[..3].iter().all(|r| r.contains("never")), "{stale}");
    assert!(
        rows[..3]
            .iter()
            .any(|r| r.starts_with(caw) && r.contains(" partner ")),
        "{stale}"
    );
    assert!(
        rows[..3]
            .iter()
            .any(|r| r.starts_with(&caw_office) && r.contains("3500 Hasselt")),
        "{stale}"
    );
    assert!(
        rows[..3]
            .iter()
            .any(|r| r.starts_with(&liege_office) && r.contains(" office ")),
        "{stale}"
    );
    assert!(
        rows[3].starts_with(liege) && rows[3].contains("2026-11-20"),
        "{stale}"
    );
    let listed = json(&s.ok("partners stale --older-than 100y --json"));
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(3),
        "only the never verified"
    );
    assert_eq!(listed[0]["partner"], caw);
    assert_eq!(listed[0]["entry"]["kind"], "partner");
    s.ok(&format!(
        "partners verify {liege} {caw} {caw_office} {liege_office}"
    ));
    assert!(s
        .ok("partners stale --older-than 1d")
        .contains("Every entry was verified within 1 days"));
    let shown = json(&s.ok(&format!("partners show {caw} --json")));
    assert_eq!(shown["locations"][&caw_office]["verified_by"], "coordinator");
    let unknown = failed(s.run(&format!(
        "partners verify {caw} 5d0c8a4e-8f2b-4c9e-9d57-1f0a2b3c4d5e"
    )));
    assert!(unknown.contains("no partner, office or service"), "{unknown}");
    let refused = s.run("partners stale --older-than 6x");
    assert_eq!(refused.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("90d, 8w, 6m or 1y"), "{stderr}");

    let history = s.ok(&format!("partners history {liege} name"));
    let changes: Vec<&str> = history.lines().skip(1).collect();
    assert_eq!(changes.len(), 2, "{history}");
    assert!(changes[0].ends_with("Fedasil Liège"), "{history}");
    assert!(changes[1].ends_with("Fedasil Liège Retour"), "{history}");
    assert!(changes.iter().all(|l| l.contains("(this device)")), "{history}");
    assert!(s.ok("partners conflicts").contains("No conflicting values"));

    s.ok(&format!("partners status {liege} defunct"));
    assert!(!s.ok("partners search liege").contains(liege));
    assert!(s.ok("partners search liege --all").contains("(defunct)"));

    let nothing = s.run(&format!("partners edit {liege}"));
    assert_eq!(
        nothing.status.code(),
        Some(2),
        "an edit without changes is a usage error"
    );
    let unknown = failed(s.run("partners show 5d0c8a4e-8f2b-4c9e-9d57-1f0a2b3c4d5e"));
    assert!(unknown.contains("no partner"), "{unknown}");
}

#[test]
fn visits_are_logged_amended_listed_and_counted() {
    let s = Sandbox::new();
    s.ok("init");
    let log = "visits log --part evening --postcode 1000 --municipality Bruxelles";

    let refused = failed(s.run_with(
        &format!("{log} --setting street --activity individual_contact --people 2"),
        &["--note", "call back on 0470 12 34 56"],
    ));
    assert!(refused.contains("personal data"), "{refused}");
    assert!(refused.contains("phone number at characters 14-"), "{refused}");
    assert!(!refused.contains("0470"), "the note is not echoed: {refused}");
    assert!(s.ok("visits list").contains("No visit found"));
    assert_eq!(
        json(&s.ok("visits list --json")),
        json("[]"),
        "nothing was logged"
    );

    let first = s.ok_with(
        &format!(
            "{log} --setting street --activity individual_contact --people 3 --theme legal --gender female=2"
        ),
        &["--note", "asked about legal aid"],
    );
    let first = first.trim();
    let second = s.ok(&format!(
        "{log} --setting day_centre --activity group_session --people 5 --theme legal --theme medical --follow-up"
    ));
    let listed = s.ok("visits list");
    assert!(
        listed.contains(first) && listed.contains(second.trim()),
        "{listed}"
    );

    s.ok(&format!(
        "visits amend {first} --people 4 --theme shelter --clear note"
    ));
    let phone = failed(s.run_with(
        &format!("visits amend {first}"),
        &["--note", "call back on 0470 12 34 56"],
    ));
    assert!(phone.contains("personal data"), "{phone}");
    let visits = json(&s.ok("visits list --json"));
    let amended = visits
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == first)
        .expect("the amended visit");
    let details = &amended["details"];
    assert_eq!(details["people_reached"], 4);
    assert_eq!(details["themes"], json(r#"["shelter"]"#));
    assert_eq!(
        details["by_gender"],
        json(r#"{"female": 2}"#),
        "what is not given is kept"
    );
    assert!(
        details.get("note").is_none(),
        "the note was cleared (empty fields are omitted)"
    );

    let counts = json(&s.ok("visits stats --json"));
    let count = |theme: Value| {
        let counts = counts.as_array().unwrap();
        let c = counts.iter().find(|c| c["theme"] == theme).expect("a count");
        (c["visits"].as_u64().unwrap(), c["people"].as_u64().unwrap())
    };
    assert_eq!(count(Value::Null), (2, 9));
    assert_eq!(count("legal".into()), (1, 5));
    assert_eq!(count("shelter".into()), (1, 4));
    assert!(s.ok("visits stats").contains("(all)"));
}

/// The raw bytes of [`KEY`].
fn key_bytes() -> Vec<u8> {
    (0..KEY.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&KEY[i..i + 2], 16).unwrap())
        .collect()
}

/// Another device's store, beside the sandbox's, holding a copy of its directory section.
fn other_device_with_the_section(s: &Sandbox) -> (outreach_core::Store, outreach_core::model::DocId) {
    use outreach_core::doc::DocKind;
    use outreach_core::{Store, StoreOptions};
    let other = Store::open(s.path("other.db"), &[7; 32], StoreOptions::default()).unwrap();
    let store = Store::open(s.path("outreach.db"), &key_bytes(), StoreOptions::default()).unwrap();
    let (doc, _) = store
        .documents()
        .unwrap()
        .into_iter()
        .find(|(_, kind)| *kind == DocKind::DirectorySection)
        .expect("a directory section");
    other
        .apply_remote(doc, &store.document_bytes(doc).unwrap())
        .unwrap();
    (other, doc)
}

/// Merges what the other device wrote to the section into the sandbox's store.
fn bring_back(s: &Sandbox, other: &outreach_core::Store, section: outreach_core::model::DocId) {
    use outreach_core::{Store, StoreOptions};
    let store = Store::open(s.path("outreach.db"), &key_bytes(), StoreOptions::default()).unwrap();
    store
        .apply_remote(section, &other.document_bytes(section).unwrap())
        .unwrap();
}

#[test]
fn concurrent_edits_from_another_device_show_as_conflicts() {
    let s = Sandbox::new();
    let here = s.ok("init");
    let id = s.ok_with(
        "partners add --region brussels --email info@example.org",
        &["--name", "Caritas Brussels"],
    );
    let id = id.trim();

    // Another device receives the directory section, then both change the e-mail offline.
    let (other, section) = other_device_with_the_section(&s);
    s.ok(&format!("partners edit {id} --email here@example.org"));
    let partner = id.parse().unwrap();
    let edit = outreach_core::doc::PartnerEdit::Email(Some("there@example.org".into()));
    other.edit_partner(partner, &[edit]).unwrap();
    bring_back(&s, &other, section);

    let conflicts = s.ok("partners conflicts");
    assert!(
        conflicts.contains("Caritas Brussels") && conflicts.contains("email"),
        "{conflicts}"
    );
    for expected in [
        "here@example.org",
        "there@example.org",
        here.trim(),
        &other.device_id().to_string(),
    ] {
        assert!(
            conflicts.contains(expected),
            "{expected} missing from:\n{conflicts}"
        );
    }
    assert!(s
        .ok(&format!("partners conflicts {id}"))
        .contains("there@example.org"));
    assert!(
        s.ok("partners search").contains(" !"),
        "search marks the conflict"
    );

    s.ok(&format!("partners edit {id} --email info@example.org"));
    assert!(s.ok("partners conflicts").contains("No conflicting values"));
    let history = s.ok(&format!("partners history {id} email"));
    assert_eq!(history.lines().count(), 5, "a header and four writes:\n{history}");

    // Fields go by the names of the edit options, never by the document's keys.
    s.ok_with(&format!("partners edit {id} --notes"), &["Ring twice"]);
    let notes = s.ok(&format!("partners history {id} notes"));
    assert!(
        notes.contains("Ring twice") && notes.contains(" notes "),
        "{notes}"
    );
    assert!(!notes.contains("worker_notes"), "{notes}");
    let all = s.ok(&format!("partners history {id}"));
    let first = all.lines().nth(1).unwrap_or_default();
    assert!(
        first.contains(" notes ") && first.contains("Ring twice"),
        "newest first:\n{all}"
    );
    assert!(
        all.contains("(settles a conflict)"),
        "the email conflict settled:\n{all}"
    );
    let refused = failed(s.run(&format!("partners history {id} worker_notes")));
    assert!(
        refused.contains("is not a field") && refused.contains("notes, verified-on"),
        "{refused}"
    );
}

#[test]
fn validation_errors_name_the_options_that_were_given() {
    let s = Sandbox::new();
    s.ok("init");
    let log = "visits log --part evening --postcode 1000 --municipality Bruxelles --setting street \
               --activity individual_contact";
    let ages = failed(s.run(&format!("{log} --people 3 --age 36_50=4")));
    assert_eq!(ages, "error: --age must be between 1 and 3");
    let genders = failed(s.run(&format!("{log} --people 2 --gender female=2 --gender male=1")));
    assert_eq!(
        genders,
        "error: --gender counts add up to more than the 2 people reached"
    );
    let people = failed(s.run(&format!("{log} --people 0")));
    assert_eq!(people, "error: --people must be between 1 and 500");

    let name = failed(s.run_with("partners add --region limburg", &["--name", "  "]));
    assert_eq!(name, "error: --name must not be empty");
    let id = s.ok_with("partners add --region limburg", &["--name", "CAW Limburg"]);
    let id = id.trim();
    let long = "x".repeat(201);
    let alternate = failed(s.run_with(&format!("partners edit {id} --alternate-name"), &[&long]));
    assert_eq!(
        alternate,
        "error: --alternate-name must be at most 200 characters"
    );
    let office = failed(s.run_with(
        &format!("partners location add {id} --postcode 3500"),
        &["--municipality", " "],
    ));
    assert!(
        office.starts_with("error: --municipality (office ") && office.ends_with(") must not be empty"),
        "{office}"
    );
    let far = failed(s.run(&format!(
        "partners location add {id} --postcode 3500 --municipality Hasselt --lat 48.1 --lon 5.3"
    )));
    assert!(
        far.starts_with("error: --lat (office ") && far.contains("between 49 and 52"),
        "{far}"
    );

    // A postcode that is no Belgian postcode is refused as the option is read.
    for bad in ["99999", "999", "Hasselt"] {
        let out = s.run(&format!(
            "partners location add {id} --municipality Hasselt --postcode {bad}"
        ));
        assert_eq!(out.status.code(), Some(2), "a usage error");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("expected a Belgian postcode: four digits, 1000 to 9999"),
            "{err}"
        );
        assert!(!err.contains("65535"), "{err}");
    }
    assert!(
        !s.ok(&format!("partners show {id}")).contains("offices:"),
        "nothing was added"
    );
}

/// Whether `partners search --open-at AT` lists `id`.
fn open_at(s: &Sandbox, id: &str, at: &str) -> bool {
    s.ok_with("partners search --open-at", &[at]).contains(id)
}

#[test]
fn offices_and_services_are_added_edited_and_closed_with_hours_that_honour_dated_exceptions() {
    let s = Sandbox::new();
    s.ok("init");
    let id = s.ok_with(
        "partners add --region limburg --kind welfare_centre",
        &["--name", "CAW Limburg"],
    );
    let id = id.trim();
    let office = s.ok_with(
        &format!("partners location add {id} --postcode 3500 --municipality Hasselt --lat 50.93 --lon 5.34"),
        &["--hours", "mon-fri 09:00-17:00", "--street", "Kerkstraat 1"],
    );
    let office = office.trim();
    // 2026-12-23 is a Wednesday.
    assert!(open_at(&s, id, "2026-12-23 10:00"));
    s.ok(&format!(
        "partners location edit {id} {office} --closed 2026-12-24..2027-01-01 --special 2026-12-31=10:00-12:00"
    ));
    assert!(!open_at(&s, id, "2026-12-24 10:00"), "closed for the holidays");
    assert!(
        open_at(&s, id, "2026-12-31 11:00"),
        "special hours inside the closure"
    );
    assert!(!open_at(&s, id, "2026-12-31 14:00"));
    assert!(
        open_at(&s, id, "2027-01-04 14:00"),
        "open again after the closure"
    );
    s.ok_with(
        &format!("partners location edit {id} {office} --street"),
        &["Grote Markt 2"],
    );
    s.ok_with(
        &format!("partners location edit {id} {office} --hours"),
        &["mon-thu 13:00-16:00"],
    );
    assert!(!open_at(&s, id, "2026-12-23 10:00") && open_at(&s, id, "2026-12-23 14:00"));
    s.ok(&format!(
        "partners location edit {id} {office} --remove-exception 2026-12-24"
    ));
    assert!(open_at(&s, id, "2026-12-28 14:00"), "the closure removed");

    let service = s.ok_with(
        &format!("partners service add {id} --theme voluntary_return --language nl --fees free"),
        &[
            "--name",
            "Vrijwillige terugkeer",
            "--hours",
            "tue,thu 13:00-16:00",
        ],
    );
    let service = service.trim();
    s.ok_with(
        &format!("partners service edit {id} {service} --add-theme legal --closed 2026-12-25 --how-to-apply"),
        &["by appointment"],
    );
    let shown = s.ok(&format!("partners show {id}"));
    for expected in [
        "Grote Markt 2, 3500 Hasselt",
        "mon-thu 13:00-16:00",
        "2026-12-31 10:00-12:00",
        "Vrijwillige terugkeer",
        "tue 13:00-16:00; thu 13:00-16:00",
        "2026-12-25 closed",
        "by appointment",
        office,
        service,
    ] {
        assert!(shown.contains(expected), "{expected} missing from:\n{shown}");
    }
    assert!(
        s.ok("partners search --theme legal").contains(id),
        "the service's new theme"
    );
    s.ok(&format!("partners service close {id} {service}"));
    assert!(
        !s.ok("partners search --theme legal").contains(id),
        "a closed service's themes leave"
    );
    assert!(s
        .ok(&format!("partners show {id}"))
        .contains("Vrijwillige terugkeer (defunct)"));

    // Field history by the names the CLI uses.
    let hours = s.ok(&format!("partners history {id} locations.{office}.hours"));
    assert!(
        hours.contains("mon-fri 09:00-17:00") && hours.contains("mon-thu 13:00-16:00"),
        "{hours}"
    );
    assert!(s
        .ok(&format!("partners history {id} locations.{office}.street"))
        .contains("Grote Markt 2"));

    // An unknown office, or a bad day, is refused naming it; nothing changes.
    let unknown = failed(s.run(&format!(
        "partners location edit {id} 00000000-0000-0000-0000-000000000001 --street x"
    )));
    assert!(unknown.contains("location"), "{unknown}");
    let bad = s.run(&format!(
        "partners location edit {id} {office} --closed 2026-12-24..2028-01-01"
    ));
    assert_eq!(bad.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("at most a year"));

    // Hours changed on two devices at once are a conflict, not a mix of both.
    let (other, section) = other_device_with_the_section(&s);
    s.ok_with(
        &format!("partners location edit {id} {office} --hours"),
        &["mon-fri 08:00-12:00"],
    );
    let edit = outreach_core::doc::PartnerEdit::Location {
        id: office.parse().unwrap(),
        edit: outreach_core::doc::LocationEdit::Hours("sat 10:00-12:00".parse().unwrap()),
    };
    other.edit_partner(id.parse().unwrap(), &[edit]).unwrap();
    bring_back(&s, &other, section);
    let conflicts = s.ok(&format!("partners conflicts {id}"));
    assert!(
        conflicts.contains(&format!("locations.{office}.hours"))
            && conflicts.contains("mon-fri 08:00-12:00")
            && conflicts.contains("sat 10:00-12:00"),
        "{conflicts}"
    );
    let entry = json(&s.ok(&format!("partners show {id} --json")));
    let weekly = entry["locations"][office]["hours"].to_string();
    assert!(
        weekly.contains(":480") != weekly.contains("\"sat\""),
        "one device's hours, not both: {weekly}"
    );
    s.ok_with(
        &format!("partners location edit {id} {office} --hours"),
        &["mon-fri 08:00-12:00"],
    );
    assert!(s.ok("partners conflicts").contains("No conflicting values"));

    s.ok(&format!("partners location close {id} {office}"));
    assert!(
        !open_at(&s, id, "2026-12-23 09:00"),
        "a closed office is never open"
    );
    assert!(!s.ok("partners search --place hasselt").contains(id));
}

#[test]
fn network_commands_say_what_is_missing_without_a_network() {
    let s = Sandbox::new();
    s.ok("init");
    assert!(s.ok("enrollment").contains("Not enrolled"));
    assert_eq!(s.ok("enrollment --json").trim(), "null");
    let not_enrolled = failed(s.run("sync"));
    assert!(not_enrolled.contains("not enrolled"), "{not_enrolled}");
    assert!(failed(s.run("brochures fetch")).contains("not enrolled"));
    let clear = failed(s.run("enroll --hub http://hub.example.org --code K7QM-2XHD"));
    assert!(clear.contains("https://"), "{clear}");
    let link = failed(s.run("enroll outreach://enroll?code=K7QM"));
    assert!(link.contains("link"), "{link}");
    let unreachable = failed(s.run("enroll --hub http://127.0.0.1:9 --code K7QM --attempts 1"));
    assert!(unreachable.contains("network error"), "{unreachable}");
    let unknown = failed(s.run("brochures open 6f757472-6561-4348-8000-000000000042"));
    assert!(unknown.contains("no brochure"), "{unknown}");
    let usage = s.run("enroll");
    assert_eq!(usage.status.code(), Some(2), "clap asks for a link or --hub");
}
