//! What the commands print: aligned tables for people, the API's JSON for scripts.

use std::io::{self, Write};

use base64::Engine as _;
use serde::Serialize;
use taskqueue_model::{Payload, Task};

use crate::eta;

/// Standard output, with the format the options chose.
pub(crate) struct Out {
    json: bool,
}

impl Out {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }

    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// `value` as pretty JSON, one document.
    pub(crate) fn json(&self, value: &impl Serialize) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, value).map_err(io::Error::other)?;
        writeln!(stdout)
    }

    /// A line of text.
    pub(crate) fn line(&self, text: &str) -> io::Result<()> {
        writeln!(io::stdout().lock(), "{text}")
    }

    /// Rows under a header, each column as wide as its widest cell.
    pub(crate) fn table(&self, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut stdout = io::stdout().lock();
        let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&header).chain(rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            writeln!(stdout, "{}", cells.join("  ").trim_end())?;
        }
        Ok(())
    }
}

/// A payload for a table cell: its text (escaped, cut to `max` characters) if UTF-8, else `base64:…`.
pub(crate) fn payload_cell(payload: Option<&Payload>, max: usize) -> String {
    let Some(payload) = payload else {
        return "-".to_owned();
    };
    let text = match std::str::from_utf8(payload.as_bytes()) {
        Ok(text) => text.escape_debug().to_string(),
        Err(_) => format!(
            "base64:{}",
            base64::engine::general_purpose::URL_SAFE.encode(payload.as_bytes())
        ),
    };
    if text.chars().count() > max {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// The columns of a task in `lease` and `list` tables.
pub(crate) const TASK_HEADER: &[&str] = &[
    "ID",
    "ETA/LEASE UNTIL",
    "LEASE TIMESTAMP",
    "RETRIES",
    "TAG",
    "PAYLOAD",
];

/// A task as a row of [`TASK_HEADER`].
pub(crate) fn task_row(task: &Task) -> Vec<String> {
    vec![
        task.id.clone().unwrap_or_else(|| "-".to_owned()),
        task.lease_timestamp
            .map_or_else(|| "-".to_owned(), eta::format),
        task.lease_timestamp
            .map_or_else(|| "-".to_owned(), |t| t.as_micros().to_string()),
        task.retry_count
            .map_or_else(|| "-".to_owned(), |n| n.to_string()),
        task.tag.clone().unwrap_or_else(|| "-".to_owned()),
        payload_cell(task.payload.as_ref(), 40),
    ]
}

/// One task, field by field (`get`, `insert`, `renew`).
pub(crate) fn task_fields(task: &Task) -> Vec<Vec<String>> {
    let field = |name: &str, value: String| vec![name.to_owned(), value];
    let dash = || "-".to_owned();
    vec![
        field("id", task.id.clone().unwrap_or_else(dash)),
        field("queueName", task.queue_name.clone().unwrap_or_else(dash)),
        field(
            "enqueued",
            task.enqueue_timestamp.map_or_else(dash, eta::format),
        ),
        field(
            "eta/lease until",
            task.lease_timestamp.map_or_else(dash, eta::format),
        ),
        field(
            "leaseTimestamp",
            task.lease_timestamp
                .map_or_else(dash, |t| t.as_micros().to_string()),
        ),
        field(
            "retry_count",
            task.retry_count.map_or_else(dash, |n| n.to_string()),
        ),
        field("tag", task.tag.clone().unwrap_or_else(dash)),
        field("payload", payload_cell(task.payload.as_ref(), 200)),
    ]
}
