//! Renders a [`super::report::Report`] for the terminal and as report files.
//!
//! Everything is built as strings — aligned text, Markdown tables, HTML with inline SVG —
//! so the reports need no template engine or chart library, and `report.html` is a single
//! file that opens offline.
//!
//! - [`verdict`] and [`warnings`]: what the figures say in words, and how far to trust
//!   them, at the top of every report;
//! - [`terminal_table`]: the verdict and the headline figures side by side, printed at the
//!   end of a run;
//! - [`markdown`]: `report.md`, every table;
//! - [`html`]: `report.html`, every table and the charts;
//! - [`write_all`]: those files and `report.json` in one directory.

#[cfg(test)]
mod browser;
mod capacity;
mod charts;
mod curves;
mod format;
mod html;
mod markdown;
mod reading;
mod spread;
mod svg;
mod sweep;
mod tables;
mod terminal;
#[cfg(test)]
mod tests;
mod verdict;

use std::path::{Path, PathBuf};

use anyhow::Context;

pub use html::html;
pub use markdown::markdown;
pub use terminal::terminal_table;
pub use verdict::{verdict, warnings};

use super::report::Report;

/// Writes `report.json`, `report.md` and `report.html` into `dir`, creating it if needed,
/// and returns their paths.
pub fn write_all(report: &Report, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_string_pretty(report).context("serializing the report")? + "\n";
    [
        ("report.json", json),
        ("report.md", markdown(report)),
        ("report.html", html(report)),
    ]
    .into_iter()
    .map(|(name, text)| {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    })
    .collect()
}
