//! What a client subcommand prints on stdout: rows of named columns, rendered as an aligned
//! table, CSV with a header row, or JSON (an array of objects, or one object for a single record).

use std::io::Write;

use clap::ValueEnum;
use serde_json::{Map, Value};

use crate::report::{Align, table};

/// `-o`: how data is written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
    /// Only `shequ report`: one self-contained HTML file.
    Html,
}

/// One cell: text, a number, a flag, or nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }

    pub fn opt_float(v: Option<f64>) -> Self {
        v.map_or(Self::Empty, Self::Float)
    }

    fn display(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Int(n) => n.to_string(),
            Self::Float(v) => format_float(*v),
            Self::Bool(b) => b.to_string(),
            Self::Empty => String::new(),
        }
    }

    fn json(&self) -> Value {
        match self {
            Self::Text(s) => Value::String(s.clone()),
            Self::Int(n) => Value::from(*n),
            Self::Float(v) => serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number),
            Self::Bool(b) => Value::Bool(*b),
            Self::Empty => Value::Null,
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self, Self::Int(_) | Self::Float(_))
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Self::Int(n)
    }
}

impl From<i32> for Cell {
    fn from(n: i32) -> Self {
        Self::Int(i64::from(n))
    }
}

impl From<f64> for Cell {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}

impl From<bool> for Cell {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

/// Up to six significant decimals, without trailing zeros.
fn format_float(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// Rows under column names. `single` marks the answer about one record (JSON prints an object).
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    pub single: bool,
}

impl Rows {
    pub fn new(columns: &[&'static str]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
            single: false,
        }
    }

    /// One record shown as `field`/`value` pairs in a table, and as one object in JSON.
    pub fn record(fields: Vec<(&'static str, Cell)>) -> Self {
        let (columns, row): (Vec<_>, Vec<_>) = fields.into_iter().unzip();
        Self {
            columns,
            rows: vec![row],
            single: true,
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// The rows in `format`; `html` is not a row format and renders as a table.
    pub fn render(&self, format: Format) -> anyhow::Result<String> {
        match format {
            Format::Table | Format::Html => Ok(self.render_table()),
            Format::Csv => self.render_csv(),
            Format::Json => {
                let objects: Vec<Value> = self
                    .rows
                    .iter()
                    .map(|row| {
                        let mut object = Map::new();
                        for (column, cell) in self.columns.iter().zip(row) {
                            object.insert((*column).to_owned(), cell.json());
                        }
                        Value::Object(object)
                    })
                    .collect();
                let value = if self.single && objects.len() == 1 {
                    objects.into_iter().next().unwrap_or(Value::Null)
                } else {
                    Value::Array(objects)
                };
                Ok(format!("{}\n", serde_json::to_string_pretty(&value)?))
            }
        }
    }

    fn render_table(&self) -> String {
        if self.single && self.rows.len() == 1 {
            let rows: Vec<Vec<String>> = self
                .columns
                .iter()
                .zip(&self.rows[0])
                .map(|(c, v)| vec![(*c).to_owned(), v.display()])
                .collect();
            return table(
                &[("field", Align::Left), ("value", Align::Left)],
                &rows,
                usize::MAX,
            );
        }
        let columns: Vec<(&str, Align)> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let numeric = !self.rows.is_empty()
                    && self
                        .rows
                        .iter()
                        .all(|r| r[i].is_numeric() || r[i] == Cell::Empty);
                (*c, if numeric { Align::Right } else { Align::Left })
            })
            .collect();
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(Cell::display).collect())
            .collect();
        table(&columns, &rows, usize::MAX)
    }

    fn render_csv(&self) -> anyhow::Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.columns)?;
        for row in &self.rows {
            w.write_record(row.iter().map(Cell::display))?;
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }

    /// Writes the rendered rows to stdout.
    pub fn print(&self, format: Format) -> anyhow::Result<()> {
        let text = self.render(format)?;
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Rows {
        let mut rows = Rows::new(&["code", "name", "share"]);
        rows.push(vec![
            Cell::from("130100000000"),
            "石家庄市".into(),
            0.5.into(),
        ]);
        rows.push(vec![
            Cell::from("130200000000"),
            "唐山市, \"东\"".into(),
            Cell::Empty,
        ]);
        rows
    }

    #[test]
    fn csv_quotes_and_keeps_the_header() {
        let csv = sample().render(Format::Csv).unwrap();
        assert_eq!(
            csv,
            "code,name,share\n130100000000,石家庄市,0.5\n130200000000,\"唐山市, \"\"东\"\"\",\n"
        );
    }

    #[test]
    fn json_is_an_array_of_objects_with_typed_values() {
        let json: Value = serde_json::from_str(&sample().render(Format::Json).unwrap()).unwrap();
        assert_eq!(json[0]["share"], Value::from(0.5));
        assert_eq!(json[1]["share"], Value::Null);
        assert_eq!(json[1]["code"], Value::from("130200000000"));
        let one = Rows::record(vec![("name", "x".into()), ("n", 3i64.into())]);
        let json: Value = serde_json::from_str(&one.render(Format::Json).unwrap()).unwrap();
        assert_eq!(json["n"], Value::from(3));
    }

    #[test]
    fn table_aligns_columns() {
        let text = sample().render(Format::Table).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("code"));
        assert!(text.contains("石家庄市"));
        assert_eq!(format_float(0.1 + 0.2), "0.3");
        assert_eq!(format_float(2.0), "2");
    }
}
