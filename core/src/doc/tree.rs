//! Typed reading of a hydrated Automerge subtree. Reading an entity field by field costs one
//! seek in the whole document per field; hydrating its map reads the entity's operations once,
//! and says on the way which fields hold concurrent values.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use automerge::hydrate::{Map, Value};
use automerge::ScalarValue;

use super::access::malformed;
use super::DocError;

/// A hydrated map and its path in the document, for error messages.
pub(crate) struct Node<'a> {
    map: &'a Map,
    path: String,
}

impl<'a> Node<'a> {
    /// Wraps a hydrated value that must be a map.
    pub fn new(value: &'a Value, path: impl Into<String>) -> Result<Node<'a>, DocError> {
        let path = path.into();
        match value {
            Value::Map(map) => Ok(Node { map, path }),
            _ => Err(malformed(path, "a map")),
        }
    }

    /// This map's path in the document.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn scalar(&self, key: &str) -> Result<Option<&'a ScalarValue>, DocError> {
        match self.map.get(key) {
            None | Some(Value::Scalar(ScalarValue::Null)) => Ok(None),
            Some(Value::Scalar(s)) => Ok(Some(s)),
            Some(_) => Err(malformed(self.at(key), "a plain value")),
        }
    }

    /// A string field.
    pub fn str(&self, key: &str) -> Result<Option<String>, DocError> {
        match self.scalar(key)? {
            None => Ok(None),
            Some(ScalarValue::Str(s)) => Ok(Some(s.to_string())),
            Some(_) => Err(malformed(self.at(key), "text")),
        }
    }

    /// A required string field.
    pub fn req_str(&self, key: &str) -> Result<String, DocError> {
        self.str(key)?.ok_or_else(|| malformed(self.at(key), "text"))
    }

    /// A required code of a vocabulary.
    pub fn code<T: FromStr>(&self, key: &str) -> Result<T, DocError> {
        self.req_str(key)?
            .parse()
            .map_err(|_| malformed(self.at(key), "a known code"))
    }

    /// A non-negative integer.
    pub fn uint(&self, key: &str) -> Result<Option<u64>, DocError> {
        match self.scalar(key)? {
            None => Ok(None),
            Some(ScalarValue::Uint(n)) => Ok(Some(*n)),
            Some(ScalarValue::Int(n)) if *n >= 0 => Ok(Some(*n as u64)),
            Some(_) => Err(malformed(self.at(key), "a non-negative integer")),
        }
    }

    /// A float.
    pub fn f64(&self, key: &str) -> Result<Option<f64>, DocError> {
        match self.scalar(key)? {
            None => Ok(None),
            Some(ScalarValue::F64(f)) if f.is_finite() => Ok(Some(*f)),
            Some(ScalarValue::Int(n)) => Ok(Some(*n as f64)),
            Some(ScalarValue::Uint(n)) => Ok(Some(*n as f64)),
            Some(_) => Err(malformed(self.at(key), "a number")),
        }
    }

    /// A boolean; absent is `false`.
    pub fn bool(&self, key: &str) -> Result<bool, DocError> {
        match self.scalar(key)? {
            None => Ok(false),
            Some(ScalarValue::Boolean(b)) => Ok(*b),
            Some(_) => Err(malformed(self.at(key), "true or false")),
        }
    }

    /// A date written as `YYYY-MM-DD`.
    pub fn date(&self, key: &str) -> Result<Option<chrono::NaiveDate>, DocError> {
        self.str(key)?
            .map(|s| {
                s.parse()
                    .map_err(|_| malformed(self.at(key), "a date YYYY-MM-DD"))
            })
            .transpose()
    }

    /// The map at `key`, if any.
    pub fn map(&self, key: &str) -> Result<Option<Node<'a>>, DocError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => Node::new(v, self.at(key)).map(Some),
        }
    }

    /// The entries of this map, sorted by key, each as a node.
    pub fn children(&self) -> Result<Vec<(&'a str, Node<'a>)>, DocError> {
        let mut out: Vec<(&'a str, Node<'a>)> = Vec::with_capacity(self.map.len());
        for (k, v) in self.map.iter() {
            out.push((k.as_str(), Node::new(&v.value, self.at(k))?));
        }
        out.sort_by(|a, b| a.0.cmp(b.0));
        Ok(out)
    }

    /// A set stored as a map `code -> true`; codes whose value is not `true` are not members.
    pub fn set<T: FromStr + Ord>(&self, key: &str) -> Result<BTreeSet<T>, DocError> {
        let mut out = BTreeSet::new();
        if let Some(node) = self.map(key)? {
            for (k, _) in node.map.iter() {
                if node.bool(k)? {
                    out.insert(k.parse().map_err(|_| malformed(node.at(k), "a known code"))?);
                }
            }
        }
        Ok(out)
    }

    /// Text per language stored as a map `lang -> text`.
    pub fn texts<T: FromStr + Ord>(&self, key: &str) -> Result<BTreeMap<T, String>, DocError> {
        let mut out = BTreeMap::new();
        if let Some(node) = self.map(key)? {
            for (k, _) in node.map.iter() {
                if let Some(t) = node.str(k)? {
                    out.insert(
                        k.parse()
                            .map_err(|_| malformed(node.at(k), "a known language code"))?,
                        t,
                    );
                }
            }
        }
        Ok(out)
    }

    /// The keys of this map (unordered).
    pub fn children_keys(&self) -> impl Iterator<Item = (&'a str, ())> + 'a {
        self.map.iter().map(|(k, _)| (k.as_str(), ()))
    }

    /// Whether any field in this subtree holds concurrent values.
    pub fn has_conflicts(&self) -> bool {
        fn any(map: &Map) -> bool {
            map.iter().any(|(_, v)| {
                v.conflict
                    || match &v.value {
                        Value::Map(m) => any(m),
                        _ => false,
                    }
            })
        }
        any(self.map)
    }
}
