//! Brochure files: upload by coordinators, download with ranges by any enrolled device.

use outreach_core::sync::protocol::{ErrorCode, Role};
use reqwest::header::{ACCEPT_RANGES, CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::common::{answer, TestHub};

fn file() -> (Vec<u8>, String) {
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let hash = hex::encode(Sha256::digest(&bytes));
    (bytes, hash)
}

async fn put(hub: &TestHub, token: &str, name: &str, body: Vec<u8>) -> reqwest::Response {
    hub.http
        .put(format!("{}/v1/blobs/{name}", hub.url))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/pdf")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn get(hub: &TestHub, token: &str, name: &str, range: Option<&str>) -> reqwest::Response {
    let mut req = hub
        .http
        .get(format!("{}/v1/blobs/{name}", hub.url))
        .bearer_auth(token);
    if let Some(range) = range {
        req = req.header(RANGE, range);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn put_get_and_ranges() {
    let hub = TestHub::start().await;
    let coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
    let worker = hub.device(&hub.org_b, Role::Fieldworker).await;
    let (bytes, hash) = file();

    let resp = put(&hub, &coordinator.token, &hash, bytes.clone()).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = put(&hub, &coordinator.token, &hash, bytes.clone()).await;
    assert_eq!(resp.status(), StatusCode::OK, "idempotent");
    assert_eq!(std::fs::read(hub.dir.join("blobs").join(&hash)).unwrap(), bytes);

    let resp = get(&hub, &worker.token, &hash, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[ACCEPT_RANGES], "bytes");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), bytes);

    let resp = get(&hub, &worker.token, &hash.to_uppercase(), None).await;
    assert_eq!(resp.status(), StatusCode::OK);

    let cases = [
        ("bytes=1000-", 1000, 99_999),
        ("bytes=10-19", 10, 19),
        ("bytes=99990-200000", 99_990, 99_999),
        ("bytes=-100", 99_900, 99_999),
        ("bytes=0-0", 0, 0),
    ];
    for (range, start, end) in cases {
        let resp = get(&hub, &worker.token, &hash, Some(range)).await;
        assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            resp.headers()[CONTENT_RANGE],
            format!("bytes {start}-{end}/100000").as_str()
        );
        assert_eq!(resp.headers()[ACCEPT_RANGES], "bytes");
        assert_eq!(
            resp.bytes().await.unwrap().to_vec(),
            bytes[start..=end].to_vec(),
            "{range}"
        );
    }

    for range in ["bytes=100000-", "bytes=200000-300000"] {
        let resp = get(&hub, &worker.token, &hash, Some(range)).await;
        assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(resp.headers()[CONTENT_RANGE], "bytes */100000");
        let (_, err) = answer::<()>(resp).await.unwrap_err();
        assert!(!err.reason.is_empty());
    }

    // A range the hub does not serve is ignored: the whole file.
    let resp = get(&hub, &worker.token, &hash, Some("bytes=0-1,5-6")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.unwrap().len(), bytes.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_are_checked_and_restricted() {
    let hub = TestHub::start().await;
    let coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
    let worker = hub.device(&hub.org_a, Role::Fieldworker).await;
    let (bytes, hash) = file();
    let before = hub.snapshot();

    let resp = put(&hub, &worker.token, &hash, bytes.clone()).await;
    let (status, err) = answer::<()>(resp).await.unwrap_err();
    assert_eq!((status, err.code), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
    // A large refused upload still gets its answer (the hub reads and discards the body).
    let big = vec![3u8; 8 * 1024 * 1024];
    let big_hash = hex::encode(Sha256::digest(&big));
    let resp = put(&hub, &worker.token, &big_hash, big).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let mut damaged = bytes.clone();
    damaged[500] ^= 1;
    let resp = put(&hub, &coordinator.token, &hash, damaged).await;
    let (status, err) = answer::<()>(resp).await.unwrap_err();
    assert_eq!(
        (status, err.code),
        (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::HashMismatch)
    );

    let resp = put(&hub, &coordinator.token, "not-a-hash", bytes.clone()).await;
    let (status, err) = answer::<()>(resp).await.unwrap_err();
    assert_eq!(
        (status, err.code),
        (StatusCode::BAD_REQUEST, ErrorCode::BadRequest)
    );

    assert_eq!(hub.snapshot(), before, "no file stored, none left half-written");
    let partial = std::fs::read_dir(hub.dir.join("blobs").join(".partial"))
        .unwrap()
        .count();
    assert_eq!(partial, 0);

    let resp = get(&hub, &worker.token, &hash, None).await;
    let (status, err) = answer::<()>(resp).await.unwrap_err();
    assert_eq!((status, err.code), (StatusCode::NOT_FOUND, ErrorCode::NotFound));
    let resp = get(&hub, "0123", &hash, None).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    hub.assert_still_serving().await;
}
