//! The operator's endpoints: `/metrics` in Prometheus' text format on a listener of its own,
//! read by a Prometheus text parser, its counters moving with the requests made; `/v1/ready`.

use std::collections::HashMap;

use outreach_core::sync::protocol::Role;
use prometheus_parse::{Scrape, Value};

use crate::common::on_both_backends;
use crate::common::TestHub;

/// The operator's listener of `hub`, on loopback; returns its base URL.
async fn operator_url(hub: &TestHub) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The server task runs until the test's runtime ends.
    drop(hub.hub.serve_operator(listener, std::future::pending()));
    format!("http://{addr}")
}

async fn scrape(hub: &TestHub, base: &str) -> (String, Scrape) {
    let resp = hub.http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = resp.text().await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let parsed = Scrape::parse(lines).unwrap_or_else(|e| panic!("not Prometheus text: {e}\n{text}"));
    (text, parsed)
}

/// The value of `name` with exactly these labels (0 when absent).
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let wanted: HashMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && *s.labels == wanted)
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
            Value::Summary(_) => f64::NAN,
        })
        .sum()
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn metrics_move_with_the_requests_and_name_no_device_or_organisation() {
        let hub = TestHub::start().await;
        let base = operator_url(&hub).await;
        let (_, before) = scrape(&hub, &base).await;
        assert_eq!(value(&before, "outreach_hub_devices_active", &[]), 0.0);

        // Requests of every kind on the devices' listener.
        let mut worker = hub.device(&hub.org_a, Role::Fieldworker).await;
        worker.log_visit("2026-11-02", "orientation CPAS", &[]);
        worker.sync(&hub).await;
        worker.sync(&hub).await;
        let health = hub
            .http
            .get(format!("{}/v1/health", hub.url))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        let anonymous = hub.post("/v1/sync", None, Vec::new()).await;
        assert_eq!(anonymous.status(), 401);
        let missing = hub
            .http
            .get(format!("{}/no/such/path", hub.url))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);

        let (text, after) = scrape(&hub, &base).await;
        let requests = "outreach_hub_http_requests_total";
        assert_eq!(
            value(&after, requests, &[("route", "/v1/sync"), ("status", "200")]),
            2.0
        );
        assert_eq!(
            value(&after, requests, &[("route", "/v1/sync"), ("status", "401")]),
            1.0
        );
        assert_eq!(
            value(&after, requests, &[("route", "/v1/health"), ("status", "200")]),
            1.0
        );
        assert_eq!(
            value(&after, requests, &[("route", "/v1/enroll"), ("status", "200")]),
            1.0
        );
        assert_eq!(
            value(&after, requests, &[("route", "(unmatched)"), ("status", "404")]),
            1.0
        );
        assert!(
            value(
                &after,
                "outreach_hub_http_request_bytes_total",
                &[("route", "/v1/sync")]
            ) > 0.0
        );
        assert!(
            value(
                &after,
                "outreach_hub_http_response_bytes_total",
                &[("route", "/v1/sync")]
            ) > 0.0
        );
        assert_eq!(
            value(&after, "outreach_hub_sync_duration_seconds_count", &[]),
            3.0
        );
        assert_eq!(value(&after, "outreach_hub_syncs_total", &[]), 2.0);
        assert_eq!(value(&after, "outreach_hub_documents_written_total", &[]), 1.0);
        assert_eq!(value(&after, "outreach_hub_devices_active", &[]), 1.0);
        let accepted = value(&after, "outreach_hub_changes_accepted_total", &[]);
        assert!(accepted >= 1.0, "{accepted}");

        // What it must never carry: the device, its token, the organisation, the note.
        for secret in [
            worker.id.to_string(),
            worker.token.clone(),
            hub.org_a.id.clone(),
            hub.org_a.name.clone(),
            "CPAS".to_string(),
        ] {
            assert!(!text.contains(&secret), "/metrics holds {secret:?}");
        }

        // One more visit is one more change accepted.
        worker.log_visit("2026-11-04", "", &[]);
        worker.sync(&hub).await;
        let (_, later) = scrape(&hub, &base).await;
        assert_eq!(value(&later, "outreach_hub_changes_accepted_total", &[]), accepted + 1.0);

        // A refusal is counted by its code.
        let mut other = hub.device(&hub.org_b, Role::Fieldworker).await;
        other.log_visit("2026-11-03", "", &[]);
        let id = *other.docs.keys().next().unwrap();
        let mut req = other.request();
        req.docs.iter_mut().find(|d| d.id == id).unwrap().changes = b"not automerge".to_vec();
        let answer = other.send(&hub, &req).await.expect("the sync is answered");
        assert_eq!(answer.refused.len(), 1, "{:?}", answer.refused);
        let (_, refused) = scrape(&hub, &base).await;
        let refusals: f64 = refused
            .samples
            .iter()
            .filter(|s| s.metric == "outreach_hub_documents_refused_total")
            .map(|s| match s.value {
                Value::Counter(v) => v,
                _ => 0.0,
            })
            .sum();
        assert_eq!(refusals, 1.0, "one refusal, under its code");
        assert_eq!(value(&refused, "outreach_hub_devices_active", &[]), 2.0);
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn metrics_are_not_served_to_devices_and_readiness_touches_the_database() {
        let hub = TestHub::start().await;
        let base = operator_url(&hub).await;
        let on_devices_listener = hub.http.get(format!("{}/metrics", hub.url)).send().await.unwrap();
        assert_eq!(on_devices_listener.status(), 404);
        for url in [format!("{}/v1/ready", hub.url), format!("{base}/v1/ready")] {
            let resp = hub.http.get(&url).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{url}");
            assert_eq!(resp.text().await.unwrap(), "ready");
        }
    }
}
