//! The roster: the names of the devices this device may see, as the hub sends them with a
//! sync (see [`Roster`]), kept so that histories and conflicts name their authors ("Laptop 2,
//! coordinator, CAW Limburg") offline too.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::schema::{get_meta, set_meta};
use super::Store;
use crate::doc::{FieldChange, FieldConflict};
use crate::error::{Error, Result};
use crate::model::{DeviceId, Region};
use crate::sync::protocol::{DeviceName, Roster, MAX_ROSTER};

/// What a device may do with a directory section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum EditRight {
    /// Edit it.
    Edit,
    /// Suggest changes to its stewards (named; none named for a field worker's device, whose
    /// role does not edit the directory).
    Suggest {
        /// The names of the section's steward organisations.
        stewards: Vec<String>,
    },
}

/// Meta key of the version of the roster held.
const ROSTER_VERSION: &str = "roster_version";

impl Store {
    /// The version of the roster this device holds, if any.
    pub(crate) fn roster_version(&self) -> Result<Option<u64>> {
        self.read(|c| Ok(get_meta(c, ROSTER_VERSION)?.and_then(|v| v.parse().ok())))
    }

    /// Replaces the roster with the hub's, in one transaction. A roster over [`MAX_ROSTER`]
    /// devices, or with a name over 200 characters, is refused and the one held is kept.
    pub(crate) fn put_roster(&self, roster: &Roster) -> Result<()> {
        let too_long = |s: &str| s.chars().count() > 200;
        if roster.devices.len() > MAX_ROSTER
            || roster
                .devices
                .iter()
                .any(|d| too_long(&d.name) || too_long(&d.org))
        {
            return Err(Error::Protocol(
                "the hub's list of device names is out of bounds".into(),
            ));
        }
        self.write(|w, _| {
            let tx = w.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM device_names", [])?;
            tx.execute("DELETE FROM region_stewards", [])?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR REPLACE INTO region_stewards (region, stewards, may_edit) VALUES (?1, ?2, ?3)",
                )?;
                for s in &roster.stewardship {
                    insert.execute(params![s.region.as_str(), s.stewards.join("\n"), s.may_edit])?;
                }
            }
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR REPLACE INTO device_names (device, name, role, org, gone) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for d in &roster.devices {
                    insert.execute(params![d.device.to_string(), d.name, d.role.as_str(), d.org, d.gone])?;
                }
            }
            set_meta(&tx, ROSTER_VERSION, &roster.version.to_string())?;
            tx.commit()?;
            Ok(((), Default::default()))
        })
    }

    /// What this device may do with a directory section: edit it, or suggest changes (a field
    /// worker's device; a coordinator of an organisation that is not one of the region's
    /// stewards, as the hub last said).
    pub fn edit_right(&self, region: Region) -> Result<EditRight> {
        if self.check_edits_directory().is_err() {
            return Ok(EditRight::Suggest { stewards: Vec::new() });
        }
        let row: Option<(String, bool)> = self.read(|c| {
            Ok(
                c.prepare_cached("SELECT stewards, may_edit FROM region_stewards WHERE region = ?1")?
                    .query_row([region.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?,
            )
        })?;
        Ok(match row {
            Some((stewards, false)) => EditRight::Suggest {
                stewards: stewards.lines().map(str::to_string).collect(),
            },
            _ => EditRight::Edit,
        })
    }

    /// Refuses an edit of `region`'s section that its stewardship leaves to others.
    pub(crate) fn check_region_right(&self, region: Region) -> Result<()> {
        match self.edit_right(region)? {
            EditRight::Suggest { stewards } if !stewards.is_empty() => {
                Err(Error::KeptByStewards { region, stewards })
            }
            _ => Ok(()),
        }
    }

    /// The name of a device as the hub last gave it, if it did.
    pub fn device_name(&self, device: DeviceId) -> Result<Option<DeviceName>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT name, role, org, gone FROM device_names WHERE device = ?1")?
                    .query_row([device.to_string()], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get(3)?,
                        ))
                    })
                    .optional()?
                    .and_then(|(name, role, org, gone)| {
                        Some(DeviceName {
                            device,
                            name,
                            role: role.parse().ok()?,
                            org,
                            gone,
                        })
                    }),
            )
        })
    }

    /// Every device name this device holds, by organisation and name.
    pub fn device_names(&self) -> Result<Vec<DeviceName>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT device, name, role, org, gone FROM device_names ORDER BY org, name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, bool>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (device, name, role, org, gone) = row?;
                if let (Ok(device), Ok(role)) = (device.parse(), role.parse()) {
                    out.push(DeviceName {
                        device,
                        name,
                        role,
                        org,
                        gone,
                    });
                }
            }
            Ok(out)
        })
    }

    /// Looks up the names of the authors of `ids`, once each.
    fn names_of(&self, ids: impl IntoIterator<Item = DeviceId>) -> Result<HashMap<DeviceId, DeviceName>> {
        let mut out = HashMap::new();
        for id in ids {
            if let std::collections::hash_map::Entry::Vacant(slot) = out.entry(id) {
                if let Some(name) = self.device_name(id)? {
                    slot.insert(name);
                }
            }
        }
        Ok(out)
    }

    /// Gives each change its author's name, where the roster has it.
    pub(crate) fn name_changes(&self, mut changes: Vec<FieldChange>) -> Result<Vec<FieldChange>> {
        let names = self.names_of(changes.iter().map(|c| c.author))?;
        for c in &mut changes {
            c.by = names.get(&c.author).cloned();
        }
        Ok(changes)
    }

    /// Gives each conflicting value its author's name, where the roster has it.
    pub(crate) fn name_conflicts(&self, mut conflicts: Vec<FieldConflict>) -> Result<Vec<FieldConflict>> {
        let names = self.names_of(conflicts.iter().flat_map(|c| c.values.iter().map(|v| v.author)))?;
        for v in conflicts.iter_mut().flat_map(|c| c.values.iter_mut()) {
            v.by = names.get(&v.author).cloned();
        }
        Ok(conflicts)
    }
}
