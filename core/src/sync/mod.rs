//! Sync with a hub: the wire protocol shared with the hub, and the device's client.

pub mod protocol;
