//! Brochure files: upload by coordinators, download with ranges by any enrolled device.

use outreach_core::sync::protocol::{ErrorCode, Role};
use reqwest::header::{ACCEPT_RANGES, CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::common::on_both_backends;
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

on_both_backends! {
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
        assert_eq!(
            hub.hub.brochure_files().unwrap(),
            vec![(hash.clone(), bytes.clone())],
            "stored once, whole"
        );

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
}

on_both_backends! {
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
        if let outreach_hub::Storage::Embedded(dir) = &hub.storage {
            let partial = std::fs::read_dir(dir.join("blobs").join(".partial")).unwrap().count();
            assert_eq!(partial, 0);
        }

        let resp = get(&hub, &worker.token, &hash, None).await;
        let (status, err) = answer::<()>(resp).await.unwrap_err();
        assert_eq!((status, err.code), (StatusCode::NOT_FOUND, ErrorCode::NotFound));
        let resp = get(&hub, "0123", &hash, None).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        hub.assert_still_serving().await;
    }
}

on_both_backends! {
    /// A file of several of the database backend's 256 KiB chunks, sent in one body: served
    /// whole, and in ranges that start, end and cross chunk boundaries.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_file_of_several_chunks_is_served_whole_and_in_ranges_across_them() {
        let mut hub = TestHub::start().await;
        let coordinator = hub.device(&hub.org_a, Role::Coordinator).await;
        let worker = hub.device(&hub.org_b, Role::Fieldworker).await;
        let chunk = 256 * 1024;
        let bytes: Vec<u8> = (0..(2 * chunk + 12_345) as u64)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
            .collect();
        let hash = hex::encode(Sha256::digest(&bytes));
        let resp = put(&hub, &coordinator.token, &hash, bytes.clone()).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        assert_eq!(hub.hub.brochure_files().unwrap(), vec![(hash.clone(), bytes.clone())]);

        let resp = get(&hub, &worker.token, &hash, None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.bytes().await.unwrap().to_vec(), bytes);
        let len = bytes.len();
        for (start, end) in [
            (0, chunk - 1),
            (chunk - 10, chunk + 9),
            (chunk, 2 * chunk),
            (1, len - 2),
            (2 * chunk + 1, len - 1),
        ] {
            let resp = get(&hub, &worker.token, &hash, Some(&format!("bytes={start}-{end}"))).await;
            assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT, "{start}-{end}");
            assert_eq!(
                resp.headers()[CONTENT_RANGE].to_str().unwrap(),
                format!("bytes {start}-{end}/{len}")
            );
            assert_eq!(resp.bytes().await.unwrap().to_vec(), bytes[start..=end], "{start}-{end}");
        }
        hub.restart().await;
        let resp = get(&hub, &worker.token, &hash, Some("bytes=-5")).await;
        assert_eq!(resp.bytes().await.unwrap().to_vec(), bytes[len - 5..]);
    }
}
