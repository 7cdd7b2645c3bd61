//! Syncing through a network that cuts connections at random bytes, a hub restarted mid-run,
//! and a hub restored from an older copy of its data directory: in the end every device
//! converges, no visit is lost or held twice, and no edit is lost.

use std::collections::BTreeSet;

use chrono::Local;
use outreach_core::doc::PartnerEdit;
use outreach_core::model::{DocId, PartnerId, Theme, VisitId};
use outreach_core::sync::protocol::Role;
use outreach_tests::gen::Gen;
use outreach_tests::harness::{Device, TestHub};
use outreach_tests::proxy::FaultProxy;
use rand::Rng;

struct Net {
    hub: TestHub,
    proxy: FaultProxy,
    coordinators: Vec<Device>,
    workers: Vec<Device>,
    logged: BTreeSet<VisitId>,
    partners: Vec<PartnerId>,
}

async fn net() -> Net {
    let hub = TestHub::start().await;
    let org = hub.org("Fedasil");
    let proxy = FaultProxy::start(hub.addr(), 42).await.expect("a proxy");
    let url = proxy.url();
    let coordinators = vec![
        Device::enroll(
            &url,
            &hub.code(&org, Role::Coordinator),
            "coordinator A",
            Role::Coordinator,
        )
        .await,
        Device::enroll(
            &url,
            &hub.code(&org, Role::Coordinator),
            "coordinator B",
            Role::Coordinator,
        )
        .await,
    ];
    let mut workers = Vec::new();
    for i in 0..3 {
        workers.push(
            Device::enroll(
                &url,
                &hub.code(&org, Role::Fieldworker),
                &format!("worker {i}"),
                Role::Fieldworker,
            )
            .await,
        );
    }
    let mut gen = Gen::new(9);
    let directory = gen.directory(22, 1, 1);
    for p in &directory {
        coordinators[0].store.add_partner(p).expect("a partner");
    }
    let partners = directory.iter().map(|p| p.id).collect();
    let net = Net {
        hub,
        proxy,
        coordinators,
        workers,
        logged: BTreeSet::new(),
        partners,
    };
    for d in net.all() {
        d.sync_until_ok(3).await;
    }
    net
}

impl Net {
    fn all(&self) -> impl Iterator<Item = &Device> {
        self.coordinators.iter().chain(&self.workers)
    }

    fn work(&mut self, gen: &mut Gen) {
        let today = Local::now().date_naive();
        for d in &self.workers {
            for _ in 0..gen.rng().random_range(1..3) {
                let date = gen.date_before(today, 15);
                let visit = gen.visit(date, &self.partners, &[]);
                self.logged.insert(d.store.log_visit(&visit).expect("a visit"));
            }
        }
        for c in &self.coordinators {
            let id = self.partners[gen.rng().random_range(0..self.partners.len())];
            let _ = c.store.edit_partner(
                id,
                &[PartnerEdit::WorkerNotes(Some(format!(
                    "note {}",
                    gen.rng().random_range(0..1000)
                )))],
            );
        }
    }

    /// Every device tries once; failures (cut connections) are expected.
    async fn try_sync_all(&self) -> usize {
        let mut failed = 0;
        for d in self.all() {
            if d.sync().await.is_err() {
                failed += 1;
            }
        }
        failed
    }

    fn converged(&self) -> bool {
        let first = self.coordinators[0].store.documents().expect("documents");
        self.all().all(|d| {
            let docs = d.store.documents().expect("documents");
            let shared = |docs: &[(DocId, outreach_core::doc::DocKind)]| -> Vec<DocId> {
                docs.iter()
                    .filter(|(_, k)| *k != outreach_core::doc::DocKind::VisitLog)
                    .map(|(id, _)| *id)
                    .collect()
            };
            shared(&docs) == shared(&first)
                && shared(&docs).iter().all(|id| d.heads(*id) == self.hub.heads(*id))
        }) && self.visits_on_hub_once() == self.logged
    }

    fn visits_on_hub_once(&self) -> BTreeSet<VisitId> {
        let ids = self.hub.visit_ids();
        let set: BTreeSet<VisitId> = ids.iter().copied().collect();
        assert_eq!(set.len(), ids.len(), "no visit is held twice on the hub");
        set
    }

    fn check_devices_keep_their_visits(&self) {
        let on_devices: BTreeSet<VisitId> = self.workers.iter().flat_map(|d| d.own_visit_ids()).collect();
        let count: usize = self.workers.iter().map(|d| d.own_visit_ids().len()).sum();
        assert_eq!(count, on_devices.len(), "no visit doubled on a device");
        assert_eq!(on_devices, self.logged, "no visit lost on a device");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_connections_a_restarted_hub_and_a_restored_backup_cost_nothing() {
    let mut net = net().await;
    let mut gen = Gen::new(2024);

    // Phase 1: a network that cuts connections at random bytes, and a hub restart mid-run.
    net.proxy.inject(0.45);
    let mut rounds = 0;
    let mut restarted = false;
    loop {
        net.work(&mut gen);
        net.try_sync_all().await;
        rounds += 1;
        let (req, resp) = net.proxy.cuts();
        if !restarted && req + resp >= 50 {
            net.hub.restart().await;
            net.proxy.set_upstream(net.hub.addr());
            restarted = true;
        }
        if req + resp >= 120 && req >= 30 && resp >= 30 {
            break;
        }
        assert!(
            rounds < 400,
            "the proxy cut too little: {req} requests, {resp} responses"
        );
    }
    let (req, resp) = net.proxy.cuts();
    println!("cut {req} requests and {resp} responses over {rounds} rounds");
    net.proxy.heal();
    for _ in 0..3 {
        net.try_sync_all().await;
    }
    assert!(net.converged(), "converged after the faults stopped");
    net.check_devices_keep_their_visits();

    // Phase 2: a backup is taken; work goes on, including both coordinators editing one
    // section in turn; then the hub is restored from the backup.
    net.hub.stop().await;
    let backup = tempfile::tempdir().expect("a folder");
    net.hub.copy_data(backup.path());
    net.hub.restart().await;
    net.proxy.set_upstream(net.hub.addr());
    let shared = net.partners[0];
    net.work(&mut gen);
    net.coordinators[0]
        .store
        .edit_partner(shared, &[PartnerEdit::AddTheme(Theme::Legal)])
        .expect("an edit");
    net.coordinators[0].sync_until_ok(2).await;
    net.coordinators[1].sync_until_ok(2).await;
    net.coordinators[1]
        .store
        .edit_partner(shared, &[PartnerEdit::AddTheme(Theme::Medical)])
        .expect("an edit");
    net.try_sync_all().await;
    net.work(&mut gen);
    net.try_sync_all().await;

    net.hub.restore(backup.path()).await;
    net.proxy.set_upstream(net.hub.addr());
    let mut rounds_to_converge = None;
    for round in 1..=3 {
        for d in net.all() {
            d.sync()
                .await
                .unwrap_or_else(|e| panic!("{} syncs with the restored hub: {e}", d.name));
        }
        if net.converged() {
            rounds_to_converge = Some(round);
            break;
        }
    }
    let rounds = rounds_to_converge.expect("devices converge within three rounds");
    println!("converged {rounds} rounds after the restore");
    net.check_devices_keep_their_visits();
    for d in net.all() {
        let p = d.store.partner(shared).expect("the shared partner");
        assert!(
            p.themes.contains(&Theme::Legal) && p.themes.contains(&Theme::Medical),
            "{}: both coordinators' edits survived the restore",
            d.name
        );
    }
}
