//! The statistics and plumbing every benchmark report of the workspace
//! shares: whether this is a full run or a smoke check, counts from the
//! environment, the rotating order of the sides, timed batches, and the
//! median with its 10th and 90th percentiles, printed as aligned rows.
//!
//! A benchmark measures each side (the code under test and its baselines)
//! in the same process, round after round, and reports medians and ratios
//! of medians, never one raw timing.

use std::env;
use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::hint::black_box;

/// Whether the program runs as a full benchmark: `cargo bench` passes
/// `--bench` on the command line, `cargo test --benches` does not (then the
/// program only runs a smoke check).
#[must_use]
pub fn full_run() -> bool {
    env::args().skip(1).any(|arg| arg == "--bench")
}

/// A positive count from the environment variable `name`, or `default`
/// when it is unset.
///
/// # Errors
///
/// When the variable is set to anything but a positive integer, with a
/// message naming the variable and the value.
pub fn env_count(name: &str, default: usize) -> Result<usize, String> {
    parse_count(name, env::var_os(name), default)
}

fn parse_count(name: &str, value: Option<OsString>, default: usize) -> Result<usize, String> {
    let Some(text) = value else {
        return Ok(default);
    };
    text.to_str()
        .and_then(|text| text.trim().parse::<usize>().ok())
        .filter(|count| *count > 0)
        .ok_or_else(|| format!("{name} must be a positive integer, got {text:?}"))
}

/// The order in which round `round` measures `sides` sides: each round
/// starts one side further on, so drift and ordering effects hit all sides
/// alike.
pub fn round_order(round: usize, sides: usize) -> impl Iterator<Item = usize> {
    (0..sides).map(move |side| (round + side) % sides)
}

/// Awaits `calls` sequential calls of `call` and returns the mean wall time
/// per call. The first failed call ends the batch with its error.
#[allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures real elapsed time; the clock rule is for library code"
)]
pub async fn time_batch<F, Fut, T, E>(calls: usize, mut call: F) -> Result<PerCall, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = std::time::Instant::now();
    for _ in 0..calls {
        black_box(call().await?);
    }
    Ok(PerCall {
        seconds: started.elapsed().as_secs_f64() / calls.max(1) as f64,
    })
}

/// A mean time per call, kept as a float: a `Duration` would round it to
/// whole nanoseconds, too coarse for calls that take a few.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct PerCall {
    seconds: f64,
}

impl PerCall {
    /// In nanoseconds.
    #[must_use]
    pub fn nanos(self) -> f64 {
        self.seconds * 1e9
    }

    /// In microseconds.
    #[must_use]
    pub fn micros(self) -> f64 {
        self.seconds * 1e6
    }
}

/// The median and the 10th and 90th percentiles of a sample, each linearly
/// interpolated between the two closest ranks (so the median of an even
/// sample is the mean of its middle two). All three are NaN for an empty
/// sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// The 50th percentile.
    pub median: f64,
    /// The 10th percentile.
    pub p10: f64,
    /// The 90th percentile.
    pub p90: f64,
}

impl Stats {
    /// The statistics of `samples`, in any order.
    #[must_use]
    pub fn of(samples: &[f64]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        Self {
            median: quantile(&sorted, 0.5),
            p10: quantile(&sorted, 0.1),
            p90: quantile(&sorted, 0.9),
        }
    }

    /// The ratio of this median to `baseline`'s.
    #[must_use]
    pub fn ratio_to(&self, baseline: &Self) -> f64 {
        self.median / baseline.median
    }

    /// Displays as `median 12.3 ns/call (p10 11.9, p90 13.0)`, with
    /// `decimals` digits after the point; an empty `unit` (for ratios)
    /// leaves it out.
    #[must_use]
    pub fn with_unit<'a>(&'a self, unit: &'a str, decimals: usize) -> impl fmt::Display + 'a {
        WithUnit {
            stats: self,
            unit,
            decimals,
        }
    }
}

/// The `q` quantile of a sorted sample; NaN when it is empty.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::NAN;
    };
    let position = q * last as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    sorted[below] + (sorted[above] - sorted[below]) * (position - below as f64)
}

struct WithUnit<'a> {
    stats: &'a Stats,
    unit: &'a str,
    decimals: usize,
}

impl fmt::Display for WithUnit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            stats,
            unit,
            decimals,
        } = self;
        let space = if unit.is_empty() { "" } else { " " };
        write!(
            f,
            "median {:.decimals$}{space}{unit} (p10 {:.decimals$}, p90 {:.decimals$})",
            stats.median, stats.p10, stats.p90
        )
    }
}

/// Rows of `label: statistics` in one unit, with the statistics aligned in
/// one column. Displays one row per line.
#[derive(Debug, Clone)]
pub struct Table {
    unit: String,
    decimals: usize,
    rows: Vec<(String, Stats)>,
}

impl Table {
    /// An empty table whose values are in `unit`, printed with `decimals`
    /// digits after the point.
    #[must_use]
    pub fn new(unit: impl Into<String>, decimals: usize) -> Self {
        Self {
            unit: unit.into(),
            decimals,
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    #[must_use]
    pub fn row(mut self, label: impl Into<String>, stats: Stats) -> Self {
        self.rows.push((label.into(), stats));
        self
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .rows
            .iter()
            .map(|(label, _)| label.chars().count())
            .max()
            .unwrap_or(0)
            + 1;
        for (label, stats) in &self.rows {
            let label = format!("{label}:");
            writeln!(
                f,
                "{label:<width$} {}",
                stats.with_unit(&self.unit, self.decimals)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_ranks() {
        let cases: &[(&[f64], Stats)] = &[
            (
                &[3.0],
                Stats {
                    median: 3.0,
                    p10: 3.0,
                    p90: 3.0,
                },
            ),
            (
                &[4.0, 1.0],
                Stats {
                    median: 2.5,
                    p10: 1.3,
                    p90: 3.7,
                },
            ),
            (
                &[5.0, 1.0, 3.0, 2.0, 4.0],
                Stats {
                    median: 3.0,
                    p10: 1.4,
                    p90: 4.6,
                },
            ),
            (
                &[
                    10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0, 110.0,
                ],
                Stats {
                    median: 60.0,
                    p10: 20.0,
                    p90: 100.0,
                },
            ),
        ];
        for (samples, expected) in cases {
            let stats = Stats::of(samples);
            for (name, got, want) in [
                ("median", stats.median, expected.median),
                ("p10", stats.p10, expected.p10),
                ("p90", stats.p90, expected.p90),
            ] {
                assert!(
                    (got - want).abs() < 1e-9,
                    "{samples:?}: {name} {got}, expected {want}"
                );
            }
        }
    }

    #[test]
    fn ratios_print_without_a_unit() {
        let stats = Stats::of(&[0.5, 1.5]);
        assert_eq!(
            stats.with_unit("", 3).to_string(),
            "median 1.000 (p10 0.600, p90 1.400)"
        );
    }

    #[test]
    fn an_empty_sample_has_no_statistics() {
        let stats = Stats::of(&[]);
        assert!(stats.median.is_nan() && stats.p10.is_nan() && stats.p90.is_nan());
    }

    #[test]
    fn ratio_is_of_the_medians() {
        let fast = Stats::of(&[1.0, 2.0, 100.0]);
        let slow = Stats::of(&[3.0, 4.0, 5.0]);
        assert!((slow.ratio_to(&fast) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn rounds_rotate_the_sides() {
        let orders: Vec<Vec<usize>> = (0..4)
            .map(|round| round_order(round, 3).collect())
            .collect();
        assert_eq!(
            orders,
            [vec![0, 1, 2], vec![1, 2, 0], vec![2, 0, 1], vec![0, 1, 2]]
        );
    }

    #[test]
    fn table_aligns_the_statistics() {
        let table = Table::new("µs/call", 1)
            .row("short", Stats::of(&[1.0, 2.0, 3.0]))
            .row("a longer label", Stats::of(&[10.0]));
        assert_eq!(
            table.to_string(),
            "short:          median 2.0 µs/call (p10 1.2, p90 2.8)\n\
             a longer label: median 10.0 µs/call (p10 10.0, p90 10.0)\n"
        );
    }

    #[test]
    fn counts_are_positive_integers_or_the_default() {
        let cases: &[(Option<&str>, Result<usize, &str>)] = &[
            (None, Ok(7)),
            (Some("12"), Ok(12)),
            (Some(" 3 "), Ok(3)),
            (
                Some("0"),
                Err(r#"BENCH_N must be a positive integer, got "0""#),
            ),
            (
                Some("-1"),
                Err(r#"BENCH_N must be a positive integer, got "-1""#),
            ),
            (
                Some("ten"),
                Err(r#"BENCH_N must be a positive integer, got "ten""#),
            ),
        ];
        for (value, expected) in cases {
            let got = parse_count("BENCH_N", value.map(OsString::from), 7);
            assert_eq!(got, expected.map_err(str::to_owned), "{value:?}");
        }
    }

    #[test]
    fn time_batch_stops_at_the_first_error() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let mut calls = 0;
        let result = runtime.block_on(time_batch(10, || {
            calls += 1;
            std::future::ready(if calls == 3 { Err("third") } else { Ok(calls) })
        }));
        assert_eq!(result, Err("third"));
        assert_eq!(calls, 3);
    }
}
