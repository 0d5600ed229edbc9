//! The series of a process's `/metrics` the dashboard shows, read from the text format.

use std::collections::BTreeMap;

use serde::Serialize;

/// The families the page shows: outboxes, breakers, what the process serves, its cost.
const SHOWN: [&str; 7] = [
    "cleave_outbox_backlog",
    "cleave_outbox_oldest_age_seconds",
    "cleave_peer_breaker_state",
    "cleave_http_requests_total",
    "cleave_events_delivered_total",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
];

/// One series and its value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct Sample {
    pub(super) name: String,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) value: f64,
}

/// The samples of the shown families in `text`; lines it cannot read are skipped.
pub(super) fn shown(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(sample)
        .filter(|sample| SHOWN.contains(&sample.name.as_str()))
        .collect()
}

fn sample(line: &str) -> Option<Sample> {
    let (series, value) = line.rsplit_once(' ')?;
    let value = value.parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, labels(rest.strip_suffix('}')?)?),
        None => (series, BTreeMap::new()),
    };
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// `a="x",b="y \"quoted\""` into its pairs.
fn labels(mut text: &str) -> Option<BTreeMap<String, String>> {
    let mut pairs = BTreeMap::new();
    while !text.is_empty() {
        let (key, rest) = text.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => value.push(chars.next()?.1),
                (at, '"') => break at,
                (_, c) => value.push(c),
            }
        };
        pairs.insert(key.to_owned(), value);
        text = rest[end + 1..].trim_start_matches(',');
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shown_series_with_their_labels() {
        let text = "# HELP cleave_outbox_backlog Events\n\
                    cleave_outbox_backlog{subscriber=\"payments\"} 12\n\
                    cleave_http_requests_total{method=\"GET\",route=\"/a\\\"b\",status=\"200\"} 3\n\
                    process_resident_memory_bytes 1048576\n\
                    cleave_peer_requests_total{peer=\"users\",outcome=\"ok\"} 9\n";
        let samples = shown(text);
        assert_eq!(samples.len(), 3, "{samples:?}");
        assert_eq!(samples[0].labels["subscriber"], "payments");
        assert_eq!(samples[0].value, 12.0);
        assert_eq!(samples[1].labels["route"], "/a\"b");
        assert_eq!(samples[1].labels["status"], "200");
        assert!(samples[2].labels.is_empty());
    }
}
