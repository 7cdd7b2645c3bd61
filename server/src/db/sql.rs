//! One way to run the hub's queries on both of its backends, embedded SQLite and PostgreSQL.
//!
//! The queries are written once, in the SQL both understand, with SQLite's numbered
//! placeholders (`?1`, `?2`); on PostgreSQL they are rewritten to `$1`, `$2` and prepared once
//! per connection. Values cross as four kinds: null, 64-bit integers, text and bytes (every
//! integer column is `BIGINT` on PostgreSQL, every byte column `BYTEA`). Rows are read into owned
//! [`Row`]s, so that the code above never sees a driver's types. What only one backend has
//! (SQLite's pragmas, its backup API) is reached through [`Tx::sqlite`].

use std::cell::RefCell;
use std::collections::HashMap;

use bytes::BytesMut;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

use crate::error::{Error, Result};

/// A value given to a query.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// What can be given to a query as a [`Value`].
pub(crate) trait ToValue {
    fn to_value(&self) -> Value<'_>;
}

impl ToValue for i64 {
    fn to_value(&self) -> Value<'_> {
        Value::Int(*self)
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl<const N: usize> ToValue for [u8; N] {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value<'_> {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value<'_> {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
}

impl ToValue for Cell {
    /// A cell read from one backend, given to the other (copying a hub). A real number has no
    /// place in the hub's schema and is given as null.
    fn to_value(&self) -> Value<'_> {
        match self {
            Cell::Null | Cell::Real(_) => Value::Null,
            Cell::Int(v) => Value::Int(*v),
            Cell::Text(t) => Value::Text(t),
            Cell::Blob(b) => Value::Blob(b),
        }
    }
}

/// The parameters of a query, each anything [`ToValue`]: `params![id, name, now]`.
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        &[$(&$p as &dyn $crate::db::sql::ToValue),*] as &[&dyn $crate::db::sql::ToValue]
    };
}
pub(crate) use params;

/// A value read from a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A row read, its cells in the order of the query's columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row(Vec<Cell>);

/// What a [`Cell`] can be read as.
pub(crate) trait FromCell: Sized {
    /// `None` when the cell holds another kind of value.
    fn from_cell(cell: Cell) -> Option<Self>;
}

impl FromCell for i64 {
    fn from_cell(cell: Cell) -> Option<i64> {
        match cell {
            Cell::Int(v) => Some(v),
            _ => None,
        }
    }
}

impl FromCell for bool {
    fn from_cell(cell: Cell) -> Option<bool> {
        match cell {
            Cell::Int(v) => Some(v != 0),
            _ => None,
        }
    }
}

impl FromCell for String {
    fn from_cell(cell: Cell) -> Option<String> {
        match cell {
            Cell::Text(v) => Some(v),
            _ => None,
        }
    }
}

impl FromCell for Vec<u8> {
    fn from_cell(cell: Cell) -> Option<Vec<u8>> {
        match cell {
            Cell::Blob(v) => Some(v),
            _ => None,
        }
    }
}

impl<T: FromCell> FromCell for Option<T> {
    fn from_cell(cell: Cell) -> Option<Option<T>> {
        match cell {
            Cell::Null => Some(None),
            other => T::from_cell(other).map(Some),
        }
    }
}

impl Row {
    /// The cells, in the order of the query's columns.
    pub(crate) fn cells(&self) -> &[Cell] {
        &self.0
    }

    /// Cell `i`, as `T`; a missing column or another kind of value is damage.
    pub(crate) fn get<T: FromCell>(&self, i: usize) -> Result<T> {
        self.0
            .get(i)
            .cloned()
            .and_then(T::from_cell)
            .ok_or_else(|| Error::Corrupt(format!("a stored value (column {i}) has an unexpected type")))
    }

    /// Cell `i`'s bytes, moved out of the row.
    pub(crate) fn take_blob(&mut self, i: usize) -> Result<Vec<u8>> {
        match self.0.get_mut(i).map(|c| std::mem::replace(c, Cell::Null)) {
            Some(Cell::Blob(b)) => Ok(b),
            _ => Err(Error::Corrupt(format!(
                "a stored value (column {i}) is not bytes"
            ))),
        }
    }
}

/// Which backend a transaction runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A PostgreSQL connection with the statements it has prepared, by their SQLite text.
pub(crate) struct PgConn {
    client: tokio_postgres::Client,
    statements: HashMap<String, tokio_postgres::Statement>,
    /// A transaction may be open on it (one that did not end cleanly): it is not reused.
    pub broken: bool,
    /// The last transaction failed because PostgreSQL could not serialise it: it may be run
    /// again.
    pub serialization_failed: bool,
    /// A read transaction's BEGIN, sent with its first statement (one round trip for both), or
    /// never if it runs none.
    pub deferred_begin: Option<&'static str>,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn")
            .field("statements", &self.statements.len())
            .finish_non_exhaustive()
    }
}

impl PgConn {
    pub(crate) fn new(client: tokio_postgres::Client) -> PgConn {
        PgConn {
            client,
            statements: HashMap::new(),
            broken: false,
            serialization_failed: false,
            deferred_begin: None,
        }
    }

    /// Waits for `future`, a request on this connection, with the deferred BEGIN sent just
    /// before it: both travel together. A read transaction's only (so harmless if the BEGIN
    /// failed and the statement ran alone: its error is the one reported).
    fn pipelined<T>(
        client: &tokio_postgres::Client,
        begin: Option<&'static str>,
        future: impl std::future::Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    ) -> std::result::Result<T, tokio_postgres::Error> {
        match begin {
            None => wait(future),
            Some(begin) => {
                let (began, done) = wait(futures_util::future::join(client.batch_execute(begin), future));
                began?;
                done
            }
        }
    }

    /// Whether the connection to the server was lost.
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Runs statements without parameters.
    pub(crate) fn batch_execute(&mut self, sql: &str) -> Result<()> {
        let done = match self.deferred_begin.take() {
            Some(begin) => wait(self.client.batch_execute(&format!("{begin}; {sql}"))),
            None => wait(self.client.batch_execute(sql)),
        };
        done.map_err(|e| self.note(e))
    }

    /// `e` as the hub's error, noting whether it is a serialization failure.
    pub(crate) fn note(&mut self, e: tokio_postgres::Error) -> Error {
        use tokio_postgres::error::SqlState;
        if e.code().is_some_and(|c| {
            *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
        }) {
            self.serialization_failed = true;
        }
        Error::Postgres(e)
    }

    fn statement(&mut self, sql: &str) -> Result<tokio_postgres::Statement> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = match wait(self.client.prepare(&placeholders_for_postgres(sql))) {
            Ok(stmt) => stmt,
            Err(e) => return Err(self.note(e)),
        };
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }
}

enum Inner<'a> {
    Sqlite(&'a rusqlite::Connection),
    Postgres(&'a RefCell<PgConn>),
}

/// An open transaction on either backend: the queries of `db/` take one.
pub(crate) struct Tx<'a>(Inner<'a>);

impl<'a> Tx<'a> {
    /// A transaction (or a plain connection, in tests) of SQLite.
    pub(crate) fn sqlite(conn: &'a rusqlite::Connection) -> Tx<'a> {
        Tx(Inner::Sqlite(conn))
    }

    /// A PostgreSQL connection on which a transaction was begun.
    pub(crate) fn postgres(conn: &'a RefCell<PgConn>) -> Tx<'a> {
        Tx(Inner::Postgres(conn))
    }

    /// Which backend the transaction runs on.
    pub(crate) fn dialect(&self) -> Dialect {
        match self.0 {
            Inner::Sqlite(_) => Dialect::Sqlite,
            Inner::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub(crate) fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        match &self.0 {
            Inner::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let n = stmt.execute(rusqlite::params_from_iter(
                    params.iter().map(|p| Lite(p.to_value())),
                ))?;
                Ok(n as u64)
            }
            Inner::Postgres(conn) => {
                let mut conn = conn.borrow_mut();
                let stmt = conn.statement(sql)?;
                let values: Vec<Value<'_>> = params.iter().map(|p| p.to_value()).collect();
                let refs: Vec<&(dyn ToSql + Sync)> =
                    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                let begin = conn.deferred_begin.take();
                let done = PgConn::pipelined(&conn.client, begin, conn.client.execute(&stmt, &refs));
                done.map_err(|e| conn.note(e))
            }
        }
    }

    /// Runs a query and hands each row to `f`, in order, without collecting them.
    pub(crate) fn for_each(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        mut f: impl FnMut(Row) -> Result<()>,
    ) -> Result<()> {
        match &self.0 {
            Inner::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let columns = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(
                    params.iter().map(|p| Lite(p.to_value())),
                ))?;
                while let Some(row) = rows.next()? {
                    f(lite_row(row, columns)?)?;
                }
                Ok(())
            }
            Inner::Postgres(conn) => {
                let mut conn = conn.borrow_mut();
                let stmt = conn.statement(sql)?;
                let values: Vec<Value<'_>> = params.iter().map(|p| p.to_value()).collect();
                let begin = conn.deferred_begin.take();
                let failed =
                    match PgConn::pipelined(&conn.client, begin, conn.client.query_raw(&stmt, values.iter()))
                    {
                        Ok(rows) => {
                            let mut rows = std::pin::pin!(rows);
                            loop {
                                match wait(futures_util::StreamExt::next(&mut rows)) {
                                    Some(Ok(row)) => f(pg_row(&row)?)?,
                                    None => break None,
                                    Some(Err(e)) => break Some(e),
                                }
                            }
                        }
                        Err(e) => Some(e),
                    };
                match failed {
                    None => Ok(()),
                    Some(e) => Err(conn.note(e)),
                }
            }
        }
    }

    /// Every row of a query.
    pub(crate) fn query(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        self.for_each(sql, params, |row| {
            out.push(row);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of a query, if any.
    pub(crate) fn query_opt(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first row of a query, which must have one.
    pub(crate) fn query_one(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Row> {
        self.query_opt(sql, params)?
            .ok_or_else(|| Error::Corrupt("a query that always answers a row answered none".into()))
    }

    /// Runs statements without parameters, separated by semicolons (schema steps).
    pub(crate) fn batch(&self, sql: &str) -> Result<()> {
        match &self.0 {
            Inner::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Inner::Postgres(conn) => conn.borrow_mut().batch_execute(sql),
        }
    }
}

/// `sql` with SQLite's `?N` placeholders written as PostgreSQL's `$N` (outside string literals).
pub(crate) fn placeholders_for_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut in_string = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_string = !in_string;
                out.push(c);
            }
            '?' if !in_string && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

/// A [`Value`] as SQLite takes it.
struct Lite<'a>(Value<'a>);

impl rusqlite::ToSql for Lite<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(v),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn lite_row(row: &rusqlite::Row<'_>, columns: usize) -> Result<Row> {
    use rusqlite::types::ValueRef;
    let mut cells = Vec::with_capacity(columns);
    for i in 0..columns {
        cells.push(match row.get_ref(i)? {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(v) => Cell::Int(v),
            ValueRef::Real(v) => Cell::Real(v),
            ValueRef::Text(t) => Cell::Text(
                std::str::from_utf8(t)
                    .map_err(|_| Error::Corrupt("stored text is not UTF-8".into()))?
                    .to_string(),
            ),
            ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
        });
    }
    Ok(Row(cells))
}

/// Waits for a PostgreSQL client future on the calling thread. The client's futures only talk
/// to its connection task (which runs on the backend's own runtime) over channels, so they can
/// be waited for anywhere, a thread of another runtime included, unlike the blocking client's.
pub(crate) fn wait<F: std::future::Future>(future: F) -> F::Output {
    futures_executor::block_on(future)
}

fn pg_row(row: &tokio_postgres::Row) -> Result<Row> {
    let mut cells = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Cell::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?.map(|v| Cell::Int(v.into()))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?.map(|v| Cell::Int(v.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?.map(|v| Cell::Int(v.into()))
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i)?.map(Cell::Real)
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i)?.map(Cell::Blob)
        } else if [Type::TEXT, Type::VARCHAR, Type::NAME, Type::BPCHAR].contains(ty) {
            row.try_get::<_, Option<String>>(i)?.map(Cell::Text)
        } else {
            return Err(Error::Corrupt(format!(
                "a stored value has the unexpected type {ty}"
            )));
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Ok(Row(cells))
}

impl ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) if *ty == Type::INT8 => v.to_sql(ty, out),
            Value::Int(v) if *ty == Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
            Value::Int(v) if *ty == Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
            Value::Int(v) if *ty == Type::BOOL => (v != 0).to_sql(ty, out),
            Value::Text(s) if <&str as ToSql>::accepts(ty) => s.to_sql(ty, out),
            Value::Blob(b) if *ty == Type::BYTEA => b.to_sql(ty, out),
            _ => Err(format!("a {self:?} cannot be given as a {ty}").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_outside_literals_only() {
        assert_eq!(
            placeholders_for_postgres("SELECT a FROM t WHERE b = ?1 AND c = '?2' OR d = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' OR d = $12"
        );
    }

    #[test]
    fn sqlite_rows_read_back_as_cells_and_types_are_checked() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let tx = Tx::sqlite(&conn);
        tx.batch("CREATE TABLE t (a INTEGER, b TEXT, c BLOB)").unwrap();
        let name = String::from("x");
        assert_eq!(
            tx.execute(
                "INSERT INTO t VALUES (?1, ?2, ?3)",
                params![7i64, name, vec![1u8, 2]]
            )
            .unwrap(),
            1
        );
        assert_eq!(
            tx.execute(
                "INSERT INTO t VALUES (?1, ?2, ?3)",
                params![None::<i64>, "y", None::<Vec<u8>>]
            )
            .unwrap(),
            1
        );
        let rows = tx.query("SELECT a, b, c FROM t ORDER BY b", params![]).unwrap();
        assert_eq!(rows[0].get::<i64>(0).unwrap(), 7);
        assert_eq!(rows[0].get::<String>(1).unwrap(), "x");
        assert_eq!(rows[0].get::<Vec<u8>>(2).unwrap(), vec![1, 2]);
        assert_eq!(rows[1].get::<Option<i64>>(0).unwrap(), None);
        assert!(rows[0].get::<String>(0).is_err(), "an integer is not text");
        assert!(rows[0].get::<i64>(9).is_err(), "no such column");
    }
}
