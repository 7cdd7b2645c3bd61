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
        // Coordinators of Fedasil hold Fedasil's visit logs, not Caritas's.
        for c in &w.coordinators {
            let held: BTreeSet<DocId> = c
                .store
                .documents()
                .expect("documents")
                .into_iter()
                .filter(|(_, k)| *k == outreach_core::doc::DocKind::VisitLog)
                .map(|(id, _)| id)
                .collect();
            for (i, wk) in w.workers.iter().enumerate() {
                let logs: BTreeSet<DocId> = wk
                    .store
                    .documents()
                    .expect("documents")
                    .into_iter()
                    .filter(|(_, k)| *k == outreach_core::doc::DocKind::VisitLog)
                    .map(|(id, _)| id)
                    .collect();
                let same_org = i < 2;
                assert_eq!(
                    logs.is_subset(&held),
                    same_org,
                    "seed {seed}: {} and {}'s logs",
                    c.name,
                    wk.name
                );
                if !same_org {
                    assert!(logs.is_disjoint(&held));
                }
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
