//! Every CBOR body of the protocol decoded from arbitrary bytes: refused or read, never a panic,
//! and what is read encodes back to something that reads the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use outreach_core::sync::protocol::{
    decode, encode, EnrollRequest, EnrollResponse, ErrorBody, SyncRequest, SyncResponse,
};

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(v) = decode::<T>(data) {
        let again: T = decode(&encode(&v)).expect("what was read encodes back");
        assert_eq!(again, v);
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<SyncRequest>(data);
    round_trip::<SyncResponse>(data);
    round_trip::<EnrollRequest>(data);
    round_trip::<EnrollResponse>(data);
    round_trip::<ErrorBody>(data);
});
