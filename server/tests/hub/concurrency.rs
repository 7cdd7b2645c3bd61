//! Several devices writing one document at once, through two hub instances sharing one data
//! directory (or one PostgreSQL database): every change lands, none is lost.

use outreach_core::doc::Document;
use outreach_core::model::Region;
use outreach_core::sync::protocol::Role;
use outreach_hub::{Hub, HubConfig};

use crate::common::on_both_backends;
use crate::common::TestHub;

on_both_backends! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_through_two_hub_instances_all_land() {
        let hub = TestHub::start().await;
        let second = Hub::open_storage(&hub.storage, HubConfig::default(), hub.keys.clone()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = second.serve(listener, None).unwrap();
        let urls = [hub.url.clone(), server.url()];

        let mut first = hub.device(&hub.org_a, Role::Coordinator).await;
        let (section, _) = first.add_partner(Region::Brussels, "Seed");
        first.sync(&hub).await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..6 {
            let mut device = hub.device(&hub.org_a, Role::Coordinator).await;
            device.sync(&hub).await;
            let http = hub.http.clone();
            let urls = urls.clone();
            tasks.spawn(async move {
                for j in 0..5 {
                    device.add_partner(Region::Brussels, &format!("Partner {i}-{j}"));
                    device.sync_via(&http, &urls[(i + j) % 2]).await;
                }
                device
            });
        }
        let mut devices = tasks.join_all().await;
        let conflicts = hub.hub.metrics().write_conflicts + second.metrics().write_conflicts;
        eprintln!("write conflicts resolved under the lock: {conflicts}");

        let bytes = hub.hub.document_bytes(section).unwrap().unwrap();
        let stored = Document::load(section, &bytes, first.id).unwrap();
        assert_eq!(stored.partners().unwrap().len(), 31);
        devices.push(first);
        for device in &mut devices {
            device.sync_all(&hub).await;
            assert_eq!(device.doc(section).partners().unwrap().len(), 31);
            assert!(device.in_step_with(&hub, section));
        }
        server.shutdown().await.unwrap();
    }
}
