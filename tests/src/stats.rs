//! Small measurement helpers shared by the benchmarks.

use std::time::Duration;

/// The `q` quantile (0..=1) of `samples`, by nearest rank.
pub fn percentile(samples: &mut [Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
    samples[rank - 1]
}

/// Peak resident memory of this process in MB (VmHWM), or 0 where /proc is missing.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Prints one `name value unit` line.
pub fn print_figure(name: &str, value: f64, unit: &str) {
    if value.fract() == 0.0 || value >= 1000.0 {
        println!("{name} {value:.0} {unit}");
    } else {
        println!("{name} {value:.2} {unit}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut s: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(percentile(&mut s, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&mut s, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&mut [], 0.5), Duration::ZERO);
    }
}
