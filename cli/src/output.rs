//! Shared output helpers: aligned tables, JSON, and short renderings of lists, times and sizes.

use std::fmt::Display;
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use outreach_core::model::DeviceId;

use crate::error::CliResult;

/// Where commands write their results.
pub type Out<'a> = &'a mut dyn Write;

/// A table written with aligned columns; cells are counted in characters.
#[derive(Debug)]
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    indent: usize,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers, every column left-aligned.
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            right: vec![false; headers.len()],
            indent: 0,
            rows: Vec::new(),
        }
    }

    /// Indents every line by `spaces`.
    pub fn indented(mut self, spaces: usize) -> Table {
        self.indent = spaces;
        self
    }

    /// Aligns column `index` to the right (for numbers).
    pub fn align_right(mut self, index: usize) -> Table {
        self.right[index] = true;
        self
    }

    /// Adds a row; it should have one cell per header.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Writes the header and the rows, two spaces between columns, no trailing spaces.
    pub fn write(&self, out: Out<'_>) -> io::Result<()> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = " ".repeat(self.indent);
            for (i, cell) in row.iter().enumerate() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                if i > 0 {
                    line.push_str("  ");
                }
                if self.right[i] {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Writes a JSON document (already encoded) on its own line.
pub fn json(out: Out<'_>, encoded: serde_json::Result<String>) -> CliResult {
    writeln!(out, "{}", encoded?)?;
    Ok(())
}

/// Shortens `text` to `max` characters, marking the cut with an ellipsis.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

/// Joins displayable items with `, `; `-` for none.
pub fn list<T: Display>(items: impl IntoIterator<Item = T>) -> String {
    let joined = items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    or_dash(joined)
}

/// The text, or `-` when it is empty.
pub fn or_dash(text: String) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text
    }
}

/// A change time, to the second, in UTC.
pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A change's author: its name, role and organisation when the hub gave them ("Laptop 2,
/// coordinator, CAW Limburg"), else its id; marked when it is this device.
pub fn device(
    id: DeviceId,
    by: Option<&outreach_core::sync::protocol::DeviceName>,
    this: DeviceId,
) -> String {
    let shown = by.map_or_else(|| id.to_string(), |d| d.label());
    if id == this {
        format!("{shown} (this device)")
    } else {
        shown
    }
}

/// A file size in bytes, KB or MB.
pub fn size(bytes: impl TryInto<u64>) -> String {
    const KB: u64 = 1024;
    match bytes.try_into().unwrap_or(0) {
        b if b < KB => format!("{b} B"),
        b if b < KB * KB => format!("{:.1} KB", b as f64 / KB as f64),
        b => format!("{:.1} MB", b as f64 / (KB * KB) as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_without_trailing_spaces() {
        let mut t = Table::new(&["NAME", "N"]).align_right(1);
        t.row(vec!["Liège".into(), "7".into()]);
        t.row(vec!["CAW Limburg".into(), "12".into()]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "NAME          N\nLiège         7\nCAW Limburg  12\n");
    }

    #[test]
    fn helpers_render_short_text() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(list(Vec::<String>::new()), "-");
        assert_eq!(list(["a", "b"]), "a, b");
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KB");
        assert_eq!(size(3 * 1024 * 1024), "3.0 MB");
    }
}
