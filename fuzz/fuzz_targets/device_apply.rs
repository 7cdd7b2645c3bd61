//! A device applying bytes as if a hub had forwarded them (`Store::apply_remote`) to a visit
//! log, a directory section or the catalog it holds: refused or merged, never a panic out of
//! the store, and the store still answers afterwards. An abort is a finding of the library's:
//! devices apply only what a hub validated and loaded back. (The panics the store catches are
//! the same as `accept`'s and `wire`'s, which keep libFuzzer's aborting hook to list them.)

#![no_main]

use std::sync::OnceLock;

use chrono::Utc;
use libfuzzer_sys::fuzz_target;
use outreach_core::doc::DocMeta;
use outreach_core::model::{Activity, OrgKind, PartOfDay, Partner, Region, Setting, VisitDetails};
use outreach_core::{Store, StoreKey, StoreOptions};

struct Device {
    _dir: tempfile::TempDir,
    store: Store,
    docs: Vec<DocMeta>,
}

fn device() -> &'static Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a folder");
        let store = Store::open(
            dir.path().join("s.db"),
            StoreKey::random().as_bytes(),
            StoreOptions::default(),
        )
        .expect("a store");
        store
            .add_partner(&Partner::new(Region::Namur, "Espace social", OrgKind::Ngo))
            .expect("a partner");
        let day = Utc::now().date_naive();
        store
            .log_visit(&VisitDetails::new(
                day,
                PartOfDay::Morning,
                1000,
                "Brussel",
                Setting::Street,
                Activity::IndividualContact,
                1,
            ))
            .expect("a visit");
        let docs = vec![
            DocMeta::DirectorySection {
                region: Region::Namur,
            },
            DocMeta::VisitLog {
                owner: store.device_id(),
                month: outreach_core::model::Month::of(day),
            },
            DocMeta::BrochureCatalog,
            DocMeta::DirectorySection {
                region: Region::Liege,
            },
        ];
        Device {
            _dir: dir,
            store,
            docs,
        }
    })
}

fuzz_target!(
    init: {
        // Panics that the store catches are its business: only one that escapes the store is a
        // finding (libFuzzer's harness aborts on it).
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
    let [selector, bytes @ ..] = data else {
        return;
    };
    let d = device();
    let meta = d.docs[usize::from(*selector) % d.docs.len()];
    let _ = d.store.apply_remote(meta.id(), bytes);
    d.store.partner_count().expect("the store still answers");
    }
);

outreach_fuzz::checksum_repairing_mutator!(1);
