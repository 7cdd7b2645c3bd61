//! `bench local`: the device's store on its own.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use outreach_core::doc::{DocMeta, PartnerEdit};
use outreach_core::model::{Lang, PartnerId, Region, Theme};
use outreach_core::store::{Clock, PartnerQuery};
use outreach_core::{Store, StoreKey, StoreOptions};
use outreach_tests::gen::Gen;
use outreach_tests::stats::{peak_rss_mb, percentile, print_figure};
use rand::Rng;

use crate::Res;

const PARTNERS: usize = 2000;
const VISITS: usize = 10_000;
const TIMED_LOGS: usize = 2000;
const TIMED_SEARCHES: usize = 2000;
const WARM_UP_LOGS: usize = 200;
const RATIO_PAIRS: usize = 3000;

fn today() -> NaiveDate {
    "2026-11-20".parse().unwrap_or_default()
}

fn clock() -> Clock {
    Clock::fixed(today().and_hms_opt(18, 0, 0).unwrap_or_default().and_utc())
}

/// Builds the bench store: 2,000 partners over 11 sections (3 services and 2 locations each),
/// the sample brochure, and 10,000 visits over the last four months.
fn build(store: &Store, seed: u64) -> Res<Vec<PartnerId>> {
    let mut gen = Gen::new(seed);
    let partners = gen.directory(PARTNERS, 3, 2);
    for p in &partners {
        store.add_partner(p)?;
    }
    let brochure = outreach_core::sample::voluntary_return_brochure();
    store.put_brochure(&brochure)?;
    let ids: Vec<PartnerId> = partners.iter().map(|p| p.id).collect();
    for _ in 0..VISITS {
        let date = gen.date_before(today(), 120);
        store.log_visit(&gen.visit(date, &ids, &[brochure.id]))?;
    }
    Ok(ids)
}

/// Leaves the bench's directory (its 2,000 partners, the same as `build` makes from seed 1, and
/// the sample brochure) in `DIR/directory.db`, encrypted with the raw key in `DIR/key.hex`: what
/// the Kotlin host tests search and sync from a single-threaded dispatcher (`android/host-test.sh`).
pub fn export_directory(dir: &Path) -> Res<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("directory.db");
    if path.exists() {
        return Err(format!("{} exists already", path.display()).into());
    }
    let key = StoreKey::random();
    let store = open(&path, &key)?;
    let mut gen = Gen::new(1);
    for p in &gen.directory(PARTNERS, 3, 2) {
        store.add_partner(p)?;
    }
    store.put_brochure(&outreach_core::sample::voluntary_return_brochure())?;
    drop(store);
    std::fs::write(dir.join("key.hex"), hex::encode(key.as_bytes()))?;
    Ok(())
}

fn open(path: &Path, key: &StoreKey) -> Res<Store> {
    let mut s = Store::open(path, key.as_bytes(), StoreOptions::default())?;
    s.set_clock(clock());
    Ok(s)
}

fn queries(gen: &mut Gen) -> Vec<PartnerQuery> {
    let texts = [
        "lie",
        "caw",
        "juri",
        "médecins",
        "dagcentrum",
        "gent",
        "accueil",
        "nacht",
        "free clinic",
        "psych",
    ];
    let langs = ["ar", "fr", "ti", "fa", "nl"];
    (0..TIMED_SEARCHES)
        .map(|i| {
            let rng = gen.rng();
            let mut q = PartnerQuery::default();
            match i % 5 {
                0 => q.text = Some(texts[rng.random_range(0..texts.len())].into()),
                1 => {
                    q.themes = vec![Theme::ALL[rng.random_range(0..Theme::ALL.len())]];
                    q.languages =
                        vec![Lang::code(langs[rng.random_range(0..langs.len())])
                            .unwrap_or_else(|| unreachable!())];
                }
                2 => {
                    q.text = Some(texts[rng.random_range(0..texts.len())][..3].into());
                    q.region = Some(Region::ALL[rng.random_range(0..Region::ALL.len())]);
                }
                3 => {
                    q.themes = vec![Theme::Legal];
                    q.open_at = today().and_hms_opt(rng.random_range(7..22), 30, 0);
                    q.near = Some((50.85, 4.35));
                }
                _ => q.place = Some(["3500", "Gent", "liege", "1000"][rng.random_range(0..4)].into()),
            }
            q
        })
        .collect()
}

/// Writes the queries as `queries.tsv` for the Kotlin replay: text, themes, languages,
/// region, place, open_at, near (`lat,lon`), tab-separated, an empty column for unset.
fn export_queries(dir: &Path, queries: &[PartnerQuery]) -> Res<()> {
    let join = |items: Vec<String>| items.join(",");
    let mut out = String::new();
    for q in queries {
        let columns = [
            q.text.clone().unwrap_or_default(),
            join(q.themes.iter().map(|t| t.to_string()).collect()),
            join(q.languages.iter().map(|l| l.to_string()).collect()),
            q.region.map(|r| r.to_string()).unwrap_or_default(),
            q.place.clone().unwrap_or_default(),
            q.open_at
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
                .unwrap_or_default(),
            q.near
                .map(|(lat, lon)| format!("{lat},{lon}"))
                .unwrap_or_default(),
        ];
        if columns.iter().any(|c| c.contains(['\t', '\n'])) {
            return Err("a query holds a tab or a line break".into());
        }
        out.push_str(&columns.join("\t"));
        out.push('\n');
    }
    std::fs::write(dir.join("queries.tsv"), out)?;
    Ok(())
}

pub fn run(export: Option<&Path>) -> Res<()> {
    let work = tempfile::tempdir()?;
    let enc_path = work.path().join("encrypted.db");
    let key = StoreKey::random();
    let store = open(&enc_path, &key)?;
    let ids = build(&store, 1)?;
    drop(store);
    if let Some(dir) = export {
        // The store as phase 1 finds it (closed, so the WAL is folded in): the Kotlin replay times
        // its calls on `encrypted.db` and warms the JIT up on `warmup.db`.
        std::fs::create_dir_all(dir)?;
        for name in ["encrypted.db", "warmup.db", "workload.db"] {
            for stale in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(dir.join(format!("{name}{stale}")));
            }
            std::fs::copy(&enc_path, dir.join(name))?;
        }
    }

    // Phase 1: the device alone, as on a phone.
    let mut opens = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let s = open(&enc_path, &key)?;
        opens.push(t.elapsed());
        drop(s);
    }
    let store = open(&enc_path, &key)?;
    let mut gen = Gen::new(7);
    let brochure = outreach_core::sample::voluntary_return_brochure().id;
    let mut logs = Vec::new();
    let mut logged = Vec::new();
    for _ in 0..TIMED_LOGS {
        let date = gen.date_before(today(), 10);
        let v = gen.visit(date, &ids, &[brochure]);
        let t = Instant::now();
        store.log_visit(&v)?;
        logs.push(t.elapsed());
        logged.push(v);
    }
    let mut searches = Vec::new();
    let timed_queries = queries(&mut gen);
    if let Some(dir) = export {
        std::fs::write(dir.join("key.hex"), hex::encode(key.as_bytes()))?;
        export_queries(dir, &timed_queries)?;
    }
    for q in timed_queries {
        let t = Instant::now();
        let r = store.search_partners(&q)?;
        searches.push(t.elapsed());
        std::hint::black_box(r);
    }
    if let Some(dir) = export {
        // Phase 1's visits, for the Kotlin replay to log the very same ones: logged into a copy of
        // the store (their referrals name its partners), their ids in order in `workload.ids`.
        let workload = open(&dir.join("workload.db"), &key)?;
        let mut ids = String::new();
        for v in &logged {
            ids.push_str(&workload.log_visit(v)?.to_string());
            ids.push('\n');
        }
        std::fs::write(dir.join("workload.ids"), ids)?;
    }
    let apply = apply_remote_500(&store, work.path())?;
    let peak = peak_rss_mb();

    // Phase 2: SQLCipher's overhead, logging the same visits alternately into the encrypted
    // store and an unencrypted twin built from the same seed.
    let plain_path = work.path().join("plain.db");
    let open_plain = || -> Res<Store> {
        let mut s = Store::open_unencrypted_for_benchmark(&plain_path, StoreOptions::default())?;
        s.set_clock(clock());
        Ok(s)
    };
    build(&open_plain()?, 1)?;
    // Reopened like the encrypted store, so that both hold documents loaded from storage.
    let plain = open_plain()?;
    // The same documents on both sides: the twin also gets phase 1's visits.
    for v in &logged {
        plain.log_visit(v)?;
    }
    // Warm both up alike, then time pairs, the store going first chosen at random, so that
    // neither always inherits the other's cache misses.
    for _ in 0..WARM_UP_LOGS {
        let date = gen.date_before(today(), 10);
        let v = gen.visit(date, &ids, &[brochure]);
        store.log_visit(&v)?;
        plain.log_visit(&v)?;
    }
    let (mut enc, mut pla) = (Vec::new(), Vec::new());
    for _ in 0..RATIO_PAIRS {
        let date = gen.date_before(today(), 10);
        let v = gen.visit(date, &ids, &[brochure]);
        let timed = |s: &Store| -> Res<Duration> {
            let t = Instant::now();
            s.log_visit(&v)?;
            Ok(t.elapsed())
        };
        if gen.rng().random_bool(0.5) {
            enc.push(timed(&store)?);
            pla.push(timed(&plain)?);
        } else {
            pla.push(timed(&plain)?);
            enc.push(timed(&store)?);
        }
    }
    drop(plain);
    drop(store);
    let db_bytes = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", enc_path.display())).ok())
        .map(|m| m.len())
        .sum::<u64>();

    let us = |d: Duration| d.as_secs_f64() * 1e6;
    print_figure("open_ms", percentile(&mut opens, 0.5).as_secs_f64() * 1e3, "ms");
    print_figure("log_visit_p50_us", us(percentile(&mut logs, 0.5)), "us");
    print_figure("log_visit_p99_us", us(percentile(&mut logs, 0.99)), "us");
    print_figure("search_p50_us", us(percentile(&mut searches, 0.5)), "us");
    print_figure("search_p99_us", us(percentile(&mut searches, 0.99)), "us");
    print_figure("apply_remote_500_edits_ms", apply.as_secs_f64() * 1e3, "ms");
    print_figure("db_bytes", db_bytes as f64, "bytes");
    print_figure("peak_rss_mb", peak, "MB");
    print_figure(
        "sqlcipher_overhead_ratio",
        percentile(&mut enc, 0.5).as_secs_f64() / percentile(&mut pla, 0.5).as_secs_f64(),
        "ratio",
    );
    Ok(())
}

const REPLICA_REGION: Region = Region::Limburg;

/// The other device: loads a directory section, makes 500 edits, writes the new changes out.
pub fn replica_edits(section: &Path, out: &Path) -> Res<()> {
    let doc = DocMeta::DirectorySection {
        region: REPLICA_REGION,
    }
    .id();
    let dir = tempfile::tempdir()?;
    let other = open(&dir.path().join("replica.db"), &StoreKey::random())?;
    other.apply_remote(doc, &std::fs::read(section)?)?;
    let base = other.document_heads(doc)?;
    let ids: Vec<PartnerId> = other
        .search_partners(&PartnerQuery {
            region: Some(REPLICA_REGION),
            include_closed: true,
            limit: Some(10_000),
            ..Default::default()
        })?
        .into_iter()
        .filter(|s| s.region == REPLICA_REGION)
        .map(|s| s.id)
        .collect();
    let mut gen = Gen::new(11);
    for i in 0..500 {
        let id = ids[i % ids.len()];
        let edit = match i % 4 {
            0 => PartnerEdit::AddTheme(Theme::ALL[gen.rng().random_range(0..Theme::ALL.len())]),
            1 => PartnerEdit::WorkerNotes(Some(format!("Checked by phone, round {i}"))),
            2 => PartnerEdit::Verified {
                on: today()
                    .checked_sub_days(Days::new(i as u64 % 30))
                    .unwrap_or(today()),
                by: "CONEX Limburg".into(),
            },
            _ => PartnerEdit::AddLanguage(Lang::code("ar").unwrap_or_else(|| unreachable!())),
        };
        other.edit_partner(id, &[edit])?;
    }
    std::fs::write(out, other.document_changes_since(doc, &base)?)?;
    Ok(())
}

/// A second device (another process) makes 500 edits to one directory section; the store
/// merges them.
fn apply_remote_500(store: &Store, dir: &Path) -> Res<Duration> {
    let doc = DocMeta::DirectorySection {
        region: REPLICA_REGION,
    }
    .id();
    let section = dir.join("section.bin");
    let edits = dir.join("edits.bin");
    std::fs::write(&section, store.document_bytes(doc)?)?;
    let status = std::process::Command::new(std::env::current_exe()?)
        .arg("replica-edits")
        .arg(&section)
        .arg(&edits)
        .status()?;
    if !status.success() {
        return Err("the replica process failed".into());
    }
    let bytes = std::fs::read(&edits)?;
    let t = Instant::now();
    let changes = store.apply_remote(doc, &bytes)?;
    let elapsed = t.elapsed();
    if changes.partners.is_empty() {
        return Err("the 500 edits changed nothing".into());
    }
    Ok(elapsed)
}
