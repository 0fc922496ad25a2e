//! Statistics shared by the benches (included with `#[path]`; `benches/support/` is not a bench target itself).

use std::time::Duration;

/// The median of a set of timings.
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The median of per-round ratios `a[i] / b[i]`: each pair was measured back to back, so slow phases of the disk
/// hit both sides of a ratio rather than one median.
pub fn paired(a: &[Duration], b: &[Duration]) -> f64 {
    let mut r: Vec<f64> = a.iter().zip(b).map(|(x, y)| x.as_secs_f64() / y.as_secs_f64()).collect();
    r.sort_by(|x, y| x.total_cmp(y));
    r[r.len() / 2]
}

/// The lowest and highest per-round ratio `a[i] / b[i]`: how far single rounds stray from [`paired`].
#[allow(dead_code)] // (only the migrate bench prints ranges)
pub fn paired_range(a: &[Duration], b: &[Duration]) -> (f64, f64) {
    let r = a.iter().zip(b).map(|(x, y)| x.as_secs_f64() / y.as_secs_f64());
    r.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)))
}

/// A count from the environment, or `default`.
pub fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
