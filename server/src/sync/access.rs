//! Who may read and write which document (DESIGN.md, "Data: documents"):
//!
//! | document | written by | read by |
//! | --- | --- | --- |
//! | directory section, brochure catalog | coordinators and admins | every enrolled device |
//! | visit log | its owner device | its owner only: an organisation's figures reach its coordinators as published reports (REPORTS.md), never as raw logs |
//! | suggestions | its owner device (the suggestions), coordinators and admins (the answers) | its owner, coordinators and admins of every organisation |
//!
//! Within a suggestions document, who writes which keys is checked operation by operation
//! (`inspect`): its owner makes the suggestions, another device answers them.

use outreach_core::doc::{DocKind, DocMeta};
use outreach_core::model::DeviceId;

use crate::auth::Caller;
use crate::db::docs::DocRow;

/// What a device may do with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Access {
    pub read: bool,
    pub write: bool,
}

fn rule(caller: &Caller, kind: DocKind, owner: Option<DeviceId>) -> Access {
    match kind {
        DocKind::DirectorySection | DocKind::BrochureCatalog => Access {
            read: true,
            write: caller.role.edits_directory(),
        },
        DocKind::VisitLog => {
            // Raw visit logs are the most sensitive data in the system: no device but their
            // owner holds them (a coordinator's phone travels too). A device that still holds a
            // colleague's log is told to drop it at its next sync.
            let own = owner == Some(caller.device);
            Access {
                read: own,
                write: own,
            }
        }
        DocKind::Suggestions => {
            let own = owner == Some(caller.device);
            let answers = caller.role.edits_directory();
            Access {
                read: own || answers,
                write: own || answers,
            }
        }
    }
}

/// Access to a stored document.
pub(crate) fn of_row(caller: &Caller, row: &DocRow) -> Access {
    rule(caller, row.kind, row.owner_device)
}

/// Access to a document new to the hub, described by its content. A new visit log can only be
/// the caller's own or someone else's; only the former may be created.
pub(crate) fn of_new(caller: &Caller, meta: &DocMeta) -> Access {
    match meta {
        DocMeta::VisitLog { owner, .. } => rule(caller, meta.kind(), Some(*owner)),
        // Only its owner starts a suggestions document (its organisation is recorded then).
        DocMeta::Suggestions { owner } if *owner != caller.device => Access {
            read: false,
            write: false,
        },
        DocMeta::Suggestions { owner } => rule(caller, meta.kind(), Some(*owner)),
        _ => rule(caller, meta.kind(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outreach_core::sync::protocol::Role;

    fn caller(role: Role, org: &str) -> Caller {
        Caller {
            device: DeviceId::random(),
            org: org.into(),
            role,
            retired: false,
        }
    }

    #[test]
    fn the_table_of_design_md() {
        let worker = caller(Role::Fieldworker, "a");
        let coordinator = caller(Role::Coordinator, "a");
        let other_org = caller(Role::Admin, "b");
        for kind in [DocKind::DirectorySection, DocKind::BrochureCatalog] {
            assert_eq!(
                rule(&worker, kind, None),
                Access {
                    read: true,
                    write: false
                }
            );
            assert_eq!(
                rule(&coordinator, kind, None),
                Access {
                    read: true,
                    write: true
                }
            );
        }
        let owner = Some(worker.device);
        let access = |c: &Caller| rule(c, DocKind::VisitLog, owner);
        assert_eq!(
            access(&worker),
            Access {
                read: true,
                write: true
            }
        );
        assert_eq!(
            access(&coordinator),
            Access {
                read: false,
                write: false
            }
        );
        assert_eq!(
            access(&other_org),
            Access {
                read: false,
                write: false
            }
        );
        assert_eq!(
            access(&caller(Role::Fieldworker, "a")),
            Access {
                read: false,
                write: false
            }
        );
    }
}
