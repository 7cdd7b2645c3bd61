//! Typed reads of single values and careful writes of Automerge values. Reads fail with the
//! field's path when a value has the wrong type (whole entities are read from hydrated trees, see
//! `tree.rs`); writes skip values that are already there, so that history only records real
//! changes.

use std::collections::BTreeSet;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value};

use super::DocError;

/// A [`DocError::Malformed`] for `path`.
pub(crate) fn malformed(path: impl Into<String>, expected: &'static str) -> DocError {
    DocError::Malformed {
        path: path.into(),
        expected,
    }
}

/// Reads the winning scalar at `key`; `None` when absent or null.
pub(crate) fn get_scalar<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
    path: &str,
) -> Result<Option<ScalarValue>, DocError> {
    match doc.get(obj, key)? {
        None => Ok(None),
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Null => Ok(None),
            other => Ok(Some(other.clone())),
        },
        Some((Value::Object(_), _)) => Err(malformed(path, "a plain value")),
    }
}

/// Reads a string.
pub(crate) fn get_str<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
    path: &str,
) -> Result<Option<String>, DocError> {
    match get_scalar(doc, obj, key, path)? {
        None => Ok(None),
        Some(ScalarValue::Str(s)) => Ok(Some(s.to_string())),
        Some(_) => Err(malformed(path, "text")),
    }
}

/// Reads a non-negative integer.
pub(crate) fn get_uint<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
    path: &str,
) -> Result<Option<u64>, DocError> {
    match get_scalar(doc, obj, key, path)? {
        None => Ok(None),
        Some(ScalarValue::Uint(n)) => Ok(Some(n)),
        Some(ScalarValue::Int(n)) if n >= 0 => Ok(Some(n as u64)),
        Some(_) => Err(malformed(path, "a non-negative integer")),
    }
}

/// Reads the map at `key`, if any.
pub(crate) fn get_map<R: ReadDoc>(
    doc: &R,
    obj: &ObjId,
    key: &str,
    path: &str,
) -> Result<Option<ObjId>, DocError> {
    match doc.get(obj, key)? {
        None => Ok(None),
        Some((Value::Object(ObjType::Map), id)) => Ok(Some(id)),
        Some(_) => Err(malformed(path, "a map")),
    }
}

/// How a write treats a field that holds concurrent (conflicting) values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Write only when the value differs from the winning one: a record written back whole does
    /// not silently settle conflicts in fields its author did not touch.
    Reconcile,
    /// Write unless the field holds exactly this one value: an explicit edit of a field settles
    /// its conflict.
    Resolve,
}

/// Writes a scalar, skipping it when it is already there (see [`Mode`]).
pub(crate) fn put(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: impl Into<ScalarValue>,
    mode: Mode,
) -> Result<(), DocError> {
    let value = value.into();
    let all = doc.get_all(obj, key)?;
    let same = |v: &(Value<'_>, ObjId)| matches!(&v.0, Value::Scalar(s) if s.as_ref() == &value);
    let skip = match mode {
        Mode::Reconcile => all.last().is_some_and(same),
        Mode::Resolve => all.len() == 1 && same(&all[0]),
    };
    if !skip {
        doc.put(obj, key, value)?;
    }
    Ok(())
}

/// Writes an optional string: `None` removes the field.
pub(crate) fn put_opt_str(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: Option<&str>,
    mode: Mode,
) -> Result<(), DocError> {
    match value {
        Some(v) => put(doc, obj, key, v, mode),
        None => delete(doc, obj, key),
    }
}

/// Removes a key if it is there.
pub(crate) fn delete(doc: &mut AutoCommit, obj: &ObjId, key: &str) -> Result<(), DocError> {
    if doc.get(obj, key)?.is_some() {
        doc.delete(obj, key)?;
    }
    Ok(())
}

/// The map at `key`, created if missing.
pub(crate) fn ensure_map(doc: &mut AutoCommit, obj: &ObjId, key: &str) -> Result<ObjId, DocError> {
    match doc.get(obj, key)? {
        Some((Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Ok(doc.put_object(obj, key, ObjType::Map)?),
    }
}

/// Makes the set at `key` hold exactly `items`: adds missing members, removes the others.
pub(crate) fn put_set<'a>(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    items: impl IntoIterator<Item = &'a str>,
) -> Result<(), DocError> {
    let map = ensure_map(doc, obj, key)?;
    let wanted: BTreeSet<&str> = items.into_iter().collect();
    for k in doc.keys(&map).collect::<Vec<_>>() {
        if !wanted.contains(k.as_str()) {
            doc.delete(&map, k.as_str())?;
        }
    }
    for k in wanted {
        put(doc, &map, k, true, Mode::Reconcile)?;
    }
    Ok(())
}

/// Adds or removes one member of the set at `key`.
pub(crate) fn set_member(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    item: &str,
    member: bool,
) -> Result<(), DocError> {
    let map = ensure_map(doc, obj, key)?;
    if member {
        put(doc, &map, item, true, Mode::Resolve)
    } else {
        delete(doc, &map, item)
    }
}
