//! The Automerge actor of a device's changes: the device's id and an epoch.
//!
//! Automerge numbers each actor's changes in a document (1, 2, 3...), and refuses a second change
//! with a number it already holds. A device whose store lost commits that it had already sent
//! (a power cut before the disk held them, a phone restored from a backup) would number its next
//! change like one the hub holds, and every later sync of that document would be refused. Such a
//! device starts a new epoch instead: its changes then carry a new actor, `device id || epoch`,
//! which no earlier change used, and the hub accepts it as that device's own.
//!
//! Epoch 0 is the bare 16-byte device id (the actor of every change made before epochs existed);
//! epoch `n > 0` appends `n` as four big-endian bytes.

use automerge::ActorId;

use crate::model::DeviceId;

/// Bytes of an epoch after the device id in an actor.
const EPOCH_BYTES: usize = 4;

/// A device's actor: its id and its epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceActor {
    /// The device.
    pub device: DeviceId,
    /// How many times the device's history regressed and it started anew.
    pub epoch: u32,
}

impl DeviceActor {
    /// The actor of `device` in `epoch`.
    pub fn new(device: DeviceId, epoch: u32) -> DeviceActor {
        DeviceActor { device, epoch }
    }

    /// The Automerge actor id.
    pub fn actor_id(&self) -> ActorId {
        if self.epoch == 0 {
            ActorId::from(&self.device.as_bytes()[..])
        } else {
            let mut bytes = Vec::with_capacity(16 + EPOCH_BYTES);
            bytes.extend_from_slice(self.device.as_bytes());
            bytes.extend_from_slice(&self.epoch.to_be_bytes());
            ActorId::from(bytes)
        }
    }

    /// Reads an actor id as a device's actor; `None` for anything else (the genesis actor reads
    /// as the nil device).
    pub fn parse(actor: &ActorId) -> Option<DeviceActor> {
        let bytes = actor.to_bytes();
        let device = uuid::Uuid::from_slice(bytes.get(..16)?).ok()?;
        let epoch = match bytes.len() {
            16 => 0,
            20 => {
                let mut e = [0u8; EPOCH_BYTES];
                e.copy_from_slice(&bytes[16..]);
                let epoch = u32::from_be_bytes(e);
                if epoch == 0 {
                    // Epoch 0 is written as the bare id: two spellings of one actor are refused.
                    return None;
                }
                epoch
            }
            _ => return None,
        };
        Some(DeviceActor {
            device: DeviceId::from_uuid(device),
            epoch,
        })
    }

    /// Whether `actor` is one of `device`'s actors, in any epoch.
    pub fn belongs_to(actor: &ActorId, device: DeviceId) -> bool {
        DeviceActor::parse(actor).is_some_and(|a| a.device == device)
    }
}

impl From<DeviceId> for DeviceActor {
    fn from(device: DeviceId) -> Self {
        DeviceActor { device, epoch: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_give_distinct_actors_of_one_device() {
        let device = DeviceId::random();
        let a0 = DeviceActor::from(device).actor_id();
        let a1 = DeviceActor::new(device, 1).actor_id();
        assert_eq!(a0.to_bytes(), device.as_bytes());
        assert_ne!(a0, a1);
        assert_eq!(DeviceActor::parse(&a0), Some(DeviceActor::new(device, 0)));
        assert_eq!(DeviceActor::parse(&a1), Some(DeviceActor::new(device, 1)));
        assert!(DeviceActor::belongs_to(&a1, device));
        assert!(!DeviceActor::belongs_to(&a1, DeviceId::random()));
        let mut zero = device.as_bytes().to_vec();
        zero.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(DeviceActor::parse(&ActorId::from(zero)), None);
        assert_eq!(DeviceActor::parse(&ActorId::from(&[1u8; 17][..])), None);
    }
}
