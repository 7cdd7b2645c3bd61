//! Several devices and a real hub on loopback: random offline work, syncs in random orders, and
//! in the end identical documents and identical query results everywhere, no visit lost or
//! doubled, and a steady-state sync of exactly one round trip.

use std::collections::BTreeSet;

use chrono::Local;
use outreach_core::doc::PartnerEdit;
use outreach_core::model::{DocId, Lang, PartnerId, PartnerStatus, Theme, VisitId};
use outreach_core::sync::protocol::Role;
use outreach_tests::gen::Gen;
use outreach_tests::harness::{Device, TestHub};
use rand::seq::SliceRandom;
use rand::Rng;

struct World {
    hub: TestHub,
    coordinators: Vec<Device>,
    workers: Vec<Device>,
    /// Visits logged by each worker, by id.
    logged: Vec<BTreeSet<VisitId>>,
    partners: Vec<PartnerId>,
}

async fn world(seed: u64) -> World {
    let hub = TestHub::start().await;
    let fedasil = hub.org("Fedasil");
    let caritas = hub.org("Caritas International");
    let url = hub.url();
    let coordinators = vec![
        Device::enroll(
            &url,
            &hub.code(&fedasil, Role::Coordinator),
            "coordinator Brussels",
            Role::Coordinator,
        )
        .await,
        Device::enroll(
            &url,
            &hub.code(&fedasil, Role::Admin),
            "coordinator Liège",
            Role::Admin,
        )
        .await,
    ];
    let workers = vec![
        Device::enroll(
            &url,
            &hub.code(&fedasil, Role::Fieldworker),
            "worker Gent",
            Role::Fieldworker,
        )
        .await,
        Device::enroll(
            &url,
            &hub.code(&fedasil, Role::Fieldworker),
            "worker Antwerpen",
            Role::Fieldworker,
        )
        .await,
        Device::enroll(
            &url,
            &hub.code(&caritas, Role::Fieldworker),
            "worker Caritas",
            Role::Fieldworker,
        )
        .await,
    ];
    let mut gen = Gen::new(seed);
    let directory = gen.directory(40, 1, 1);
    for p in &directory {
        coordinators[0].store.add_partner(p).expect("a partner is added");
    }
    coordinators[0].sync_until_ok(1).await;
    World {
        hub,
        coordinators,
        workers,
        logged: vec![BTreeSet::new(); 3],
        partners: directory.iter().map(|p| p.id).collect(),
    }
}

/// Some random offline work on every device.
fn work(w: &mut World, gen: &mut Gen) {
    let today = Local::now().date_naive();
    for c in &w.coordinators {
        for _ in 0..gen.rng().random_range(0..4) {
            let id = w.partners[gen.rng().random_range(0..w.partners.len())];
            let edit = match gen.rng().random_range(0..6) {
                0 => PartnerEdit::Name(format!("Partner {}", gen.rng().random_range(0..5))),
                1 => PartnerEdit::Status(PartnerStatus::ALL[gen.rng().random_range(0..4)]),
                2 => PartnerEdit::AddTheme(Theme::ALL[gen.rng().random_range(0..Theme::ALL.len())]),
                3 => PartnerEdit::AddLanguage(
                    Lang::code(["ar", "ti", "fa"][gen.rng().random_range(0..3)]).expect("a code"),
                ),
                4 => PartnerEdit::WorkerNotes(Some(format!(
                    "Checked, round {}",
                    gen.rng().random_range(0..100)
                ))),
                _ => PartnerEdit::Email(Some(format!("desk{}@example.org", gen.rng().random_range(0..3)))),
            };
            // A partner not yet on this device (added elsewhere, not synced) is skipped.
            let _ = c.store.edit_partner(id, &[edit]);
        }
        if gen.rng().random_bool(0.2) {
            let p = gen.partner(outreach_core::model::Region::Brussels, 1, 1);
            c.store.add_partner(&p).expect("a partner is added");
            w.partners.push(p.id);
        }
    }
    for (i, d) in w.workers.iter().enumerate() {
        for _ in 0..gen.rng().random_range(0..4) {
            let date = gen.date_before(today, 20);
            let known: Vec<PartnerId> = w
                .partners
                .iter()
                .copied()
                .filter(|p| d.store.partner(*p).is_ok())
                .collect();
            let visit = gen.visit(date, &known, &[]);
            let id = d.store.log_visit(&visit).expect("a visit is logged");
            w.logged[i].insert(id);
        }
    }
}

async fn sync_in_random_order(w: &World, gen: &mut Gen, everyone: bool) {
    let mut order: Vec<&Device> = w.coordinators.iter().chain(&w.workers).collect();
    order.shuffle(gen.rng());
    for d in order {
        if everyone || gen.rng().random_bool(0.6) {
            d.sync_until_ok(1).await;
        }
    }
}

fn shared_docs(d: &Device) -> Vec<DocId> {
    d.store
        .documents()
        .expect("documents")
        .into_iter()
        .filter(|(_, kind)| *kind != outreach_core::doc::DocKind::VisitLog)
        .map(|(id, _)| id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_converge_through_the_hub_after_random_offline_work() {
    for seed in 1..=4 {
        let mut w = world(seed).await;
        let mut gen = Gen::new(100 + seed);
        for _ in 0..5 {
            work(&mut w, &mut gen);
            sync_in_random_order(&w, &mut gen, false).await;
        }
        // Everyone syncs twice, in random orders: the second pass carries the last news.
        sync_in_random_order(&w, &mut gen, true).await;
        sync_in_random_order(&w, &mut gen, true).await;

        let all: Vec<&Device> = w.coordinators.iter().chain(&w.workers).collect();
        let docs = shared_docs(all[0]);
        assert!(!docs.is_empty());
        for d in &all {
            assert_eq!(
                shared_docs(d),
                docs,
                "seed {seed}: {} holds the same shared documents",
                d.name
            );
            for id in &docs {
                assert_eq!(
                    d.heads(*id),
                    w.hub.heads(*id),
                    "seed {seed}: {} has the hub's {id}",
                    d.name
                );
            }
            assert_eq!(
                d.query_results(),
                all[0].query_results(),
                "seed {seed}: {} answers alike",
                d.name
            );
        }
        // Every visit is on the hub exactly once, and on its device.
        let mut on_hub = w.hub.visit_ids();
        let total = on_hub.len();
        on_hub.sort();
        on_hub.dedup();
        assert_eq!(on_hub.len(), total, "seed {seed}: no visit is held twice");
        let logged: BTreeSet<VisitId> = w.logged.iter().flatten().copied().collect();
        assert_eq!(
            on_hub.into_iter().collect::<BTreeSet<_>>(),
            logged,
            "seed {seed}: every visit reached the hub"
        );
        for (i, d) in w.workers.iter().enumerate() {
            assert_eq!(
                d.own_visit_ids(),
                w.logged[i].iter().copied().collect::<Vec<_>>(),
                "seed {seed}: {}",
                d.name
            );
        }
        // Visit logs stay on the device that logged them: no coordinator holds a worker's.
        for c in &w.coordinators {
            let held: BTreeSet<DocId> = c
                .store
                .documents()
                .expect("documents")
                .into_iter()
                .filter(|(_, k)| *k == outreach_core::doc::DocKind::VisitLog)
                .map(|(id, _)| id)
                .collect();
            for wk in &w.workers {
                let logs: BTreeSet<DocId> = wk
                    .store
                    .documents()
                    .expect("documents")
                    .into_iter()
                    .filter(|(_, k)| *k == outreach_core::doc::DocKind::VisitLog)
                    .map(|(id, _)| id)
                    .collect();
                assert!(
                    logs.is_disjoint(&held),
                    "seed {seed}: {} holds {}'s logs",
                    c.name,
                    wk.name
                );
            }
        }
        // Steady state: one round trip, nothing to move.
        for d in &all {
            let report = d.sync().await.expect("a steady-state sync");
            assert_eq!(report.round_trips, 1, "seed {seed}: {}", d.name);
            assert_eq!(
                (report.changes_pushed, report.changes_pulled),
                (0, 0),
                "seed {seed}: {}",
                d.name
            );
        }
    }
}

/// What a round costs once devices and hub agree: a device that names the hub's state sends no
/// document it did not change, and the hub answers only what changed since that state. A hub
/// that does not know the state named asks for the whole list, and nothing is missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_names_the_hubs_state_instead_of_every_document() {
    let hub = TestHub::start().await;
    let org = hub.org("Fedasil");
    let url = hub.url();
    let coordinator = Device::enroll(
        &url,
        &hub.code(&org, Role::Coordinator),
        "coordinator",
        Role::Coordinator,
    )
    .await;
    let worker = Device::enroll(
        &url,
        &hub.code(&org, Role::Fieldworker),
        "worker",
        Role::Fieldworker,
    )
    .await;
    let mut gen = Gen::new(7);
    let directory = gen.directory(30, 1, 1);
    for p in &directory {
        coordinator.store.add_partner(p).expect("a partner is added");
    }
    coordinator.sync_until_ok(1).await;
    let first = worker.sync_until_ok(1).await;
    let sections = shared_docs(&worker).len();
    assert!(sections > 3, "the directory spans several documents: {sections}");
    assert_eq!(worker.store.partner_count().expect("a count"), 30);

    // Nothing new either way: one round trip, and neither side names a single document.
    let idle = worker.sync_until_ok(1).await;
    assert_eq!(idle.round_trips, 1);
    assert_eq!((idle.documents_pushed, idle.documents_pulled), (0, 0));
    let idle_bytes = idle.bytes_up + idle.bytes_down;
    assert!(
        idle_bytes < 200,
        "a round with nothing new cost {idle_bytes} bytes (the first sync {})",
        first.bytes_up + first.bytes_down
    );

    // A coordinator's edit reaches the worker in one round trip, as only that section.
    let edited = directory[3].id;
    coordinator
        .store
        .edit_partner(edited, &[PartnerEdit::Name("Maison d'accueil".into())])
        .expect("an edit");
    coordinator.sync_until_ok(1).await;
    let pulled = worker.sync_until_ok(1).await;
    assert_eq!(pulled.round_trips, 1);
    assert_eq!((pulled.documents_pulled, pulled.changes_pulled), (1, 1));
    assert_eq!(
        worker.store.partner(edited).expect("the partner").name,
        "Maison d'accueil"
    );

    // A visit goes up alone, and the next round is idle again.
    let today = Local::now().date_naive();
    let ids: Vec<PartnerId> = directory.iter().map(|p| p.id).collect();
    let visit = worker
        .store
        .log_visit(&gen.visit(today, &ids, &[]))
        .expect("a visit");
    let pushed = worker.sync_until_ok(1).await;
    assert_eq!((pushed.round_trips, pushed.documents_pushed), (1, 1));
    assert!(hub.visit_ids().contains(&visit));
    let idle = worker.sync_until_ok(1).await;
    assert_eq!(
        idle.bytes_up + idle.bytes_down,
        idle_bytes,
        "the same small round as before"
    );
    assert_eq!(hub.hub.metrics().states_unknown, 0);

    // The hub forgets what it answered (as a hub restored from an older backup would), and the
    // directory changes meanwhile: the worker's state is unknown, it lists every document in a
    // second round trip, and gets the change.
    let conn = rusqlite::Connection::open(hub.data_dir().join("hub.db")).expect("the hub's database");
    conn.execute("DELETE FROM device_states", [])
        .expect("the states go");
    coordinator
        .store
        .edit_partner(
            edited,
            &[PartnerEdit::Name("Maison d'accueil Saint-Gilles".into())],
        )
        .expect("an edit");
    coordinator.sync_until_ok(1).await;
    let unknown = hub.hub.metrics().states_unknown;
    let relisted = worker.sync_until_ok(1).await;
    assert_eq!(hub.hub.metrics().states_unknown, unknown + 1);
    assert_eq!(relisted.round_trips, 2);
    assert_eq!(relisted.changes_pulled, 1);
    assert_eq!(
        worker.store.partner(edited).expect("the partner").name,
        "Maison d'accueil Saint-Gilles"
    );
    for id in shared_docs(&coordinator) {
        assert_eq!(worker.heads(id), coordinator.heads(id), "document {id}");
    }
    let idle = worker.sync_until_ok(1).await;
    assert_eq!(
        (idle.round_trips, idle.bytes_up + idle.bytes_down),
        (1, idle_bytes)
    );
}
