//! Stable identifiers. Every entity is keyed by a random UUID so that offline replicas never
//! collide; documents that must be created independently on several devices get name-based ids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The text was not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {what} id")]
pub struct InvalidId {
    /// Which kind of id was expected.
    pub what: &'static str,
}

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new random id.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The UUID inside.
            pub fn uuid(&self) -> Uuid {
                self.0
            }

            /// The 16 bytes of the UUID.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| InvalidId { what: $what })
            }
        }
    };
}

uuid_id!(
    /// A partner organisation in the directory.
    PartnerId, "partner"
);
uuid_id!(
    /// A service offered by a partner.
    ServiceId, "service"
);
uuid_id!(
    /// A location (office) of a partner.
    LocationId, "location"
);
uuid_id!(
    /// A brochure in the catalog.
    BrochureId, "brochure"
);
uuid_id!(
    /// One logged visit.
    VisitId, "visit"
);
uuid_id!(
    /// A suggestion from the field about a directory entry.
    SuggestionId, "suggestion"
);
uuid_id!(
    /// A device (phone or laptop); its bytes are the Automerge actor of every change it makes.
    DeviceId, "device"
);
uuid_id!(
    /// An Automerge document.
    DocId, "document"
);

/// Namespace of name-based document ids (UUID v5), fixed forever.
const DOC_NAMESPACE: Uuid = Uuid::from_u128(0x6f75_7472_6561_4348_8000_0000_0000_0001);

impl DocId {
    /// A name-based id: every device derives the same id for the same name, so a directory
    /// section created offline on two devices is one document, not two.
    pub fn named(name: &str) -> DocId {
        DocId(Uuid::new_v5(&DOC_NAMESPACE, name.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_print() {
        let id = PartnerId::random();
        assert_eq!(id.to_string().parse::<PartnerId>().unwrap(), id);
        assert_eq!(
            "nope".parse::<PartnerId>().unwrap_err().to_string(),
            "not a valid partner id"
        );
        assert_eq!(DocId::named("a"), DocId::named("a"));
        assert_ne!(DocId::named("a"), DocId::named("b"));
    }
}
