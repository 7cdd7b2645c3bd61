//! The `outreach-hub` binary: set-up commands, and `serve` as benchmarks run it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_outreach-hub");

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The enrollment code printed by `init` or `enroll`.
fn printed_code(stdout: &str) -> String {
    stdout
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 19 && l.matches('-').count() == 3)
        .unwrap()
        .to_string()
}

#[test]
fn set_up_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    let data = data.to_str().unwrap();

    let (ok, out, _) = run(&[
        "init",
        "--data",
        data,
        "--org",
        "Fedasil",
        "--hub-url",
        "https://hub.example.org",
    ]);
    assert!(ok);
    let code = printed_code(&out);
    assert!(out.contains(&format!(
        "outreach://enroll?hub=https%3A%2F%2Fhub.example.org&code={code}"
    )));
    assert!(out.contains('█') || out.contains('▀'), "a QR code is drawn");

    let (ok, _, err) = run(&["init", "--data", data, "--org", "Again"]);
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");

    assert!(run(&["orgs", "add", "--data", data, "CAW Limburg"]).0);
    let (ok, out, _) = run(&["orgs", "list", "--data", data]);
    assert!(ok && out.contains("CAW Limburg") && out.contains("Fedasil"));

    let (ok, out, _) = run(&[
        "enroll",
        "--data",
        data,
        "--org",
        "caw limburg",
        "--role",
        "coordinator",
        "--expires",
        "2h",
    ]);
    assert!(ok);
    printed_code(&out);
    assert!(
        out.contains("outreach://enroll?hub=https%3A%2F%2Fhub.example.org&code="),
        "the hub remembers the address given to init: {out}"
    );

    let (ok, _, err) = run(&["enroll", "--data", data, "--org", "Nobody", "--role", "admin"]);
    assert!(!ok);
    assert_eq!(err.trim(), "outreach-hub: no organisation named \"Nobody\"");
    let (ok, _, err) = run(&["enroll", "--data", data, "--org", "Fedasil", "--role", "boss"]);
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");

    let (ok, out, _) = run(&["devices", "list", "--data", data]);
    assert!(ok && out.contains("no devices"));
    let (ok, _, err) = run(&[
        "devices",
        "revoke",
        "--data",
        data,
        "6f9619ff-8b86-d011-b42d-00cf4fc964ff",
        "--lost",
    ]);
    assert!(!ok && err.contains("no enrolled device"), "{err}");
    let report = |args: &[&str]| run(&[&["report", "--data", data], args].concat());
    let (ok, out, _) = report(&[]);
    assert!(ok && out.contains("no visits"), "{out}");
    let (ok, out, _) = report(&[
        "--table",
        "theme,province",
        "--period",
        "2026-Q4",
        "--format",
        "csv",
    ]);
    assert!(!ok && out.is_empty(), "Q4 2026 has not ended: {out}");
    let (ok, out, err) = report(&[
        "--table",
        "theme,province",
        "--period",
        "2026-10",
        "--format",
        "csv",
    ]);
    assert!(ok, "{err}");
    // Dimensions in one order whichever is asked: theme by province is province by theme.
    assert_eq!(
        out,
        "period,province,theme,people,suppressed\n2026-10,(all),(all),0,false\n"
    );
    let (ok, out, _) = report(&["--table", "origin", "--period", "2026-10", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        ok && json["dims"] == serde_json::json!(["origin"]) && json["total"] == 0,
        "{out}"
    );
    let (ok, _, err) = report(&["--threshold", "3"]);
    assert!(!ok && err.contains("can only be raised"), "{err}");
    let (ok, _, err) = report(&["--table", "origin,municipality", "--period", "2026-10"]);
    assert!(!ok && err.contains("not published by municipality"), "{err}");

    // Stewards of directory sections.
    let (ok, out, _) = run(&["regions", "steward", "--data", data, "limburg", "caw limburg"]);
    assert!(ok && out.contains("CAW Limburg is a steward of limburg"), "{out}");
    assert!(run(&["regions", "steward", "--data", data, "limburg", "Fedasil"]).0);
    let (ok, out, _) = run(&["regions", "list", "--data", data]);
    let limburg = out.lines().find(|l| l.starts_with("limburg")).unwrap_or_default();
    assert!(ok && limburg.contains("CAW Limburg, Fedasil"), "{out}");
    let namur = out.lines().find(|l| l.starts_with("namur")).unwrap_or_default();
    assert!(namur.contains("every coordinator edits it"), "{out}");
    let (ok, _, err) = run(&["regions", "steward", "--data", data, "atlantis", "Fedasil"]);
    assert!(
        !ok && err.contains("unknown region") && err.contains("limburg"),
        "{err}"
    );
    let (ok, _, err) = run(&["regions", "steward", "--data", data, "namur", "Nobody"]);
    assert!(!ok && err.contains("no organisation named"), "{err}");
    assert!(run(&["regions", "unsteward", "--data", data, "limburg", "Fedasil"]).0);
    let (ok, _, err) = run(&["regions", "unsteward", "--data", data, "limburg", "Fedasil"]);
    assert!(!ok && err.contains("no steward of limburg"), "{err}");
    let (_, out, _) = run(&["regions", "list", "--data", data]);
    let limburg = out.lines().find(|l| l.starts_with("limburg")).unwrap_or_default();
    assert!(limburg.ends_with("CAW Limburg"), "{out}");

    let missing = tmp.path().join("missing");
    let (ok, _, err) = run(&["serve", "--data", missing.to_str().unwrap()]);
    assert!(!ok && err.contains("init"), "{err}");
    assert!(!missing.exists(), "a mistyped directory is not created");
}

#[test]
fn serve_prints_its_address_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    assert!(run(&["init", "--data", data.to_str().unwrap(), "--org", "Fedasil"]).0);
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr = first.trim().strip_prefix("listening on ").unwrap().to_string();
    assert!(!addr.ends_with(":0"), "{addr}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let body = runtime.block_on(async {
        let client = crate::common::client();
        let resp = client
            .get(format!("http://{addr}/v1/health"))
            .send()
            .await
            .unwrap();
        resp.text().await.unwrap()
    });
    assert_eq!(body, "ok");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert!(log.contains("/v1/health") && log.contains("status=200"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn devices_and_codes_are_named_by_name_and_retired_or_revoked_as_lost() {
    let hub = crate::common::TestHub::start().await;
    let data = hub.dir.to_str().unwrap().to_string();
    let first = hub
        .device(&hub.org_a, outreach_core::sync::protocol::Role::Fieldworker)
        .await;
    let cli = |args: Vec<String>| {
        let mut all = args;
        all.push("--data".into());
        all.push(data.clone());
        tokio::task::spawn_blocking(move || run(&all.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    // Revoking needs to be told the phone is lost: a phone handed in is retired instead.
    let (ok, _, err) = cli(s(&["devices", "revoke", "Test phone"])).await.unwrap();
    assert!(!ok && err.contains("--lost") && err.contains("retire"), "{err}");
    let (ok, out, err) = cli(s(&["devices", "retire", "test PHONE"])).await.unwrap();
    assert!(ok, "{err}");
    assert!(out.contains(&first.id.to_string()), "{out}");
    let (_, out, _) = cli(s(&["devices", "list"])).await.unwrap();
    assert!(out.contains("retired"), "{out}");

    // Two devices of one name: named by id instead.
    let second = hub
        .device(&hub.org_b, outreach_core::sync::protocol::Role::Fieldworker)
        .await;
    let (ok, _, err) = cli(s(&["devices", "revoke", "Test phone", "--lost"]))
        .await
        .unwrap();
    assert!(
        !ok && err.contains("several") && err.contains(&second.id.to_string()),
        "{err}"
    );
    let (ok, _, err) = cli(s(&["devices", "revoke", &second.id.to_string(), "--lost"]))
        .await
        .unwrap();
    assert!(ok, "{err}");
    let (ok, _, err) = cli(s(&["devices", "retire", &second.id.to_string()]))
        .await
        .unwrap();
    assert!(!ok && err.contains("lost"), "a lost device is not retired: {err}");

    // Codes by label: listed without the code itself, cancelled, then refused.
    let (ok, out, _) = cli(s(&[
        "enroll",
        "--org",
        "Fedasil",
        "--role",
        "fieldworker",
        "--label",
        "Phone 12",
    ]))
    .await
    .unwrap();
    assert!(ok);
    let code = printed_code(&out);
    let (_, out, _) = cli(s(&["codes", "list"])).await.unwrap();
    assert!(
        out.contains("Phone 12") && out.contains("open") && !out.contains(&code),
        "{out}"
    );
    let (ok, out, err) = cli(s(&["codes", "cancel", "phone 12"])).await.unwrap();
    assert!(ok && out.contains("cancelled"), "{err}");
    let (_, out, _) = cli(s(&["codes", "list"])).await.unwrap();
    assert!(out.contains("cancelled"), "{out}");
    let (status, err) = hub
        .try_enroll(&code, outreach_core::model::DeviceId::random())
        .await
        .unwrap_err();
    assert_eq!(
        err.code,
        outreach_core::sync::protocol::ErrorCode::InvalidCode,
        "{status}"
    );
}

#[test]
fn the_demo_leaves_a_hub_with_months_of_visits_to_report_on() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let data = data.to_str().unwrap();
    let (ok, out, err) = run(&["demo", "--data", data]);
    assert!(ok, "{err}");
    assert!(
        out.contains("5 organisations") && out.contains("15 field devices"),
        "{out}"
    );
    let last = out
        .lines()
        .find_map(|l| l.strip_prefix("closed months with visits: "))
        .and_then(|months| months.split(", ").last())
        .unwrap()
        .to_string();
    let (ok, out, err) = run(&[
        "report",
        "--data",
        data,
        "--table",
        "organisation,theme",
        "--period",
        &last,
    ]);
    assert!(ok, "{err}");
    for org in outreach_hub::DEMO_ORGANISATIONS {
        assert!(out.contains(org), "{org} in\n{out}");
    }
    let (ok, out, err) = run(&[
        "report", "--data", data, "--table", "province", "--period", &last, "--format", "csv",
    ]);
    assert!(ok, "{err}");
    let total: u64 = out
        .lines()
        .find(|l| l.contains(",(all),"))
        .and_then(|l| l.split(',').nth(2))
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        total > 500,
        "a month of fifteen devices' visits reaches people: {out}"
    );
    // The directory holds a hub now: a second demo there is refused.
    let (ok, _, err) = run(&["demo", "--data", data]);
    assert!(!ok && err.contains("already initialised"), "{err}");
}
