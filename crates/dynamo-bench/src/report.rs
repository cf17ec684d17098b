//! The side-by-side table (Markdown, aligned so it also reads well in a terminal), the failures
//! and the verdict on the goal.

use std::fmt::Write;
use std::time::Duration;

use crate::runner::RunResult;
use crate::stats::Summary;
use crate::workload::Operation;

/// The target, checked at the highest client count.
pub const GOAL_MIN_RATIO: f64 = 10.0;
pub const GOAL_MAX_P99: Duration = Duration::from_millis(10);

pub struct Layout<'a> {
    /// Target names in column order.
    pub targets: &'a [String],
    pub baseline: &'a str,
    pub operations: &'a [Operation],
    pub clients: &'a [usize],
}

pub fn render(layout: &Layout, results: &[RunResult]) -> String {
    let find = |target: &str, operation: Operation, clients: usize| {
        results
            .iter()
            .find(|r| r.target == target && r.operation == operation && r.clients == clients)
    };
    let summary = |target: &str, operation: Operation, clients: usize| {
        find(target, operation, clients).and_then(|r| r.summary.as_ref())
    };
    let compared: Vec<&String> = layout
        .targets
        .iter()
        .filter(|t| *t != layout.baseline)
        .collect();

    let mut header = vec!["operation".to_string(), "clients".to_string()];
    for target in layout.targets {
        header.extend(
            ["ops/s", "p50 ms", "p99 ms", "errors"].map(|column| format!("{target} {column}")),
        );
    }
    for target in &compared {
        header.push(format!("{target} / {} ops/s", layout.baseline));
    }
    let mut rows = Vec::new();
    for &operation in layout.operations {
        for &clients in layout.clients {
            let mut row = vec![operation.label().to_string(), clients.to_string()];
            for target in layout.targets {
                match find(target, operation, clients) {
                    Some(RunResult {
                        summary: Some(s),
                        errors,
                        ..
                    }) => row.extend([
                        format!("{:.0}", s.ops_per_sec()),
                        millis(s.p50),
                        millis(s.p99),
                        errors.to_string(),
                    ]),
                    Some(RunResult {
                        summary: None,
                        errors,
                        ..
                    }) => row.extend(["failed".into(), "-".into(), "-".into(), errors.to_string()]),
                    None => row.extend(["not run".into(), "-".into(), "-".into(), "-".into()]),
                }
            }
            for target in &compared {
                row.push(
                    match (
                        summary(target, operation, clients),
                        summary(layout.baseline, operation, clients),
                    ) {
                        (Some(s), Some(base)) => {
                            format!("{:.1}x", s.ops_per_sec() / base.ops_per_sec())
                        }
                        _ => "-".into(),
                    },
                );
            }
            rows.push(row);
        }
    }
    let mut out = markdown_table(&header, &rows);

    let usage: Vec<String> = layout
        .targets
        .iter()
        .filter_map(|target| {
            let cores: Vec<f64> = results
                .iter()
                .filter(|r| r.target == *target)
                .filter_map(|r| r.client_cores)
                .collect();
            let max = cores.iter().copied().reduce(f64::max)?;
            Some(format!(
                "{target} mean {:.2}, max {max:.2}",
                cores.iter().sum::<f64>() / cores.len() as f64
            ))
        })
        .collect();
    if !usage.is_empty() {
        let _ = writeln!(
            out,
            "\nCPU of this benchmark client while measuring (cores): {}",
            usage.join("; ")
        );
    }

    let failures = failure_lines(results);
    if !failures.is_empty() {
        out.push_str("\nErrors (failed requests are counted, not retried, and left out of ops/s and latency):\n");
        for line in failures {
            let _ = writeln!(out, "- {line}");
        }
    }

    if let Some(&top) = layout.clients.iter().max() {
        for target in &compared {
            let _ = writeln!(
                out,
                "\nGoal at {top} clients: {target} at least {GOAL_MIN_RATIO}x {} ops/s with p99 under {} ms and no errors",
                layout.baseline,
                GOAL_MAX_P99.as_millis()
            );
            for &operation in layout.operations {
                let verdict = goal_verdict(
                    find(target, operation, top),
                    summary(layout.baseline, operation, top),
                );
                let _ = writeln!(out, "- {}: {verdict}", operation.label());
            }
        }
    }
    out
}

fn millis(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

pub fn goal_verdict(candidate: Option<&RunResult>, baseline: Option<&Summary>) -> String {
    let Some((summary, errors)) = candidate.and_then(|c| Some((c.summary.as_ref()?, c.errors)))
    else {
        return "not measured (see errors)".into();
    };
    let mut missed = Vec::new();
    let ratio = baseline.map(|base| summary.ops_per_sec() / base.ops_per_sec());
    match ratio {
        Some(ratio) if ratio < GOAL_MIN_RATIO => missed.push("throughput"),
        Some(_) => {}
        None => missed.push("baseline not measured"),
    }
    if summary.p99 >= GOAL_MAX_P99 {
        missed.push("p99");
    }
    if errors > 0 {
        missed.push("errors");
    }
    let ratio = ratio.map(|r| format!("{r:.1}x, ")).unwrap_or_default();
    let verdict = if missed.is_empty() {
        "met".to_string()
    } else {
        format!("MISSED ({})", missed.join(", "))
    };
    format!("{ratio}p99 {} ms: {verdict}", millis(summary.p99))
}

/// One line per (target, operation, first error), naming the client counts and error counts.
fn failure_lines(results: &[RunResult]) -> Vec<String> {
    let mut grouped: Vec<(&str, Operation, &str, Vec<String>)> = Vec::new();
    for result in results {
        let Some(message) = &result.first_error else {
            continue;
        };
        let succeeded = result.summary.as_ref().map_or(0, |s| s.ops);
        let at = format!(
            "{} clients ({} of {} failed)",
            result.clients,
            result.errors,
            result.errors + succeeded
        );
        match grouped
            .iter_mut()
            .find(|(t, o, m, _)| *t == result.target && *o == result.operation && *m == message)
        {
            Some(group) => group.3.push(at),
            None => grouped.push((&result.target, result.operation, message, vec![at])),
        }
    }
    grouped
        .into_iter()
        .map(|(target, operation, message, at)| {
            format!(
                "{target} {} at {}: {message}",
                operation.name(),
                at.join(", ")
            )
        })
        .collect()
}

/// A Markdown table padded to aligned columns; columns after the first are right-aligned.
pub fn markdown_table(header: &[String], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            std::iter::once(&header[c])
                .chain(rows.iter().map(|r| &r[c]))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
                .max(3)
        })
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, &w))| {
                if c == 0 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(header);
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(c, &w)| {
            if c == 0 {
                "-".repeat(w)
            } else {
                format!("{}:", "-".repeat(w - 1))
            }
        })
        .collect();
    out.push_str(&format!("| {} |\n", rule.join(" | ")));
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(
        target: &str,
        operation: Operation,
        clients: usize,
        ops: u64,
        p50_us: u64,
        p99_us: u64,
    ) -> RunResult {
        RunResult {
            target: target.into(),
            operation,
            clients,
            summary: Some(Summary {
                ops,
                elapsed: Duration::from_secs(5),
                p50: Duration::from_micros(p50_us),
                p99: Duration::from_micros(p99_us),
            }),
            errors: 0,
            first_error: None,
            client_cores: Some(1.0),
        }
    }

    fn failed(
        target: &str,
        operation: Operation,
        clients: usize,
        errors: u64,
        message: &str,
    ) -> RunResult {
        RunResult {
            target: target.into(),
            operation,
            clients,
            summary: None,
            errors,
            first_error: Some(message.into()),
            client_cores: None,
        }
    }

    #[test]
    fn markdown_table_is_aligned_and_right_aligns_numbers() {
        let header = vec!["op".to_string(), "ops/s".to_string()];
        let rows = vec![
            vec!["GetItem".to_string(), "12".to_string()],
            vec!["Query".to_string(), "12345".to_string()],
        ];
        assert_eq!(
            markdown_table(&header, &rows),
            "| op      | ops/s |\n\
             | ------- | ----: |\n\
             | GetItem |    12 |\n\
             | Query   | 12345 |\n"
        );
    }

    #[test]
    fn side_by_side_table_with_ratio_errors_and_goal() {
        let targets = vec!["dyn".to_string(), "moto".to_string()];
        let layout = Layout {
            targets: &targets,
            baseline: "moto",
            operations: &[Operation::GetItem, Operation::TransactWriteItems],
            clients: &[1, 64],
        };
        let unsupported = "TransactWriteItems failed: UnknownOperationException: ";
        let mut moto_transactions = result(
            "moto",
            Operation::TransactWriteItems,
            64,
            400,
            600_000,
            900_000,
        );
        moto_transactions.errors = 100;
        moto_transactions.first_error =
            Some("TransactWriteItems failed: HTTP 500: <h1>Internal Server Error</h1>".into());
        let results = vec![
            result("dyn", Operation::GetItem, 1, 10_000, 450, 900),
            result("dyn", Operation::GetItem, 64, 50_000, 5_000, 9_990),
            result("moto", Operation::GetItem, 1, 2_500, 1_900, 3_000),
            result("moto", Operation::GetItem, 64, 2_000, 150_000, 300_000),
            failed("dyn", Operation::TransactWriteItems, 1, 7, unsupported),
            failed("dyn", Operation::TransactWriteItems, 64, 9, unsupported),
            result("moto", Operation::TransactWriteItems, 1, 500, 9_000, 12_000),
            moto_transactions,
        ];
        let text = render(&layout, &results);
        let expected = "\
| operation                    | clients | dyn ops/s | dyn p50 ms | dyn p99 ms | dyn errors | moto ops/s | moto p50 ms | moto p99 ms | moto errors | dyn / moto ops/s |
| ---------------------------- | ------: | --------: | ---------: | ---------: | ---------: | ---------: | ----------: | ----------: | ----------: | ---------------: |
| GetItem                      |       1 |      2000 |       0.45 |       0.90 |          0 |        500 |        1.90 |        3.00 |           0 |             4.0x |
| GetItem                      |      64 |     10000 |       5.00 |       9.99 |          0 |        400 |      150.00 |      300.00 |           0 |            25.0x |
| TransactWriteItems (4 items) |       1 |    failed |          - |          - |          7 |        100 |        9.00 |       12.00 |           0 |                - |
| TransactWriteItems (4 items) |      64 |    failed |          - |          - |          9 |         80 |      600.00 |      900.00 |         100 |                - |

CPU of this benchmark client while measuring (cores): dyn mean 1.00, max 1.00; moto mean 1.00, max 1.00

Errors (failed requests are counted, not retried, and left out of ops/s and latency):
- dyn TransactWriteItems at 1 clients (7 of 7 failed), 64 clients (9 of 9 failed): TransactWriteItems failed: UnknownOperationException: 
- moto TransactWriteItems at 64 clients (100 of 500 failed): TransactWriteItems failed: HTTP 500: <h1>Internal Server Error</h1>

Goal at 64 clients: dyn at least 10x moto ops/s with p99 under 10 ms and no errors
- GetItem: 25.0x, p99 9.99 ms: met
- TransactWriteItems (4 items): not measured (see errors)
";
        assert_eq!(text, expected);
    }

    #[test]
    fn goal_verdict_names_what_was_missed() {
        let candidate = |ops: u64, p99_ms: u64, errors: u64| {
            let mut r = result("dyn", Operation::GetItem, 64, ops, 0, p99_ms * 1000);
            r.errors = errors;
            r
        };
        let base = result("moto", Operation::GetItem, 64, 10, 0, 0)
            .summary
            .unwrap();
        assert_eq!(
            goal_verdict(Some(&candidate(100, 2, 0)), Some(&base)),
            "10.0x, p99 2.00 ms: met"
        );
        assert!(
            goal_verdict(Some(&candidate(99, 2, 0)), Some(&base)).ends_with("MISSED (throughput)")
        );
        assert!(
            goal_verdict(Some(&candidate(100, 10, 0)), Some(&base)).ends_with("MISSED (p99)"),
            "10 ms is not under 10 ms"
        );
        assert!(
            goal_verdict(Some(&candidate(100, 2, 1)), Some(&base)).ends_with("MISSED (errors)")
        );
        assert!(
            goal_verdict(Some(&candidate(100, 2, 0)), None)
                .ends_with("MISSED (baseline not measured)")
        );
        assert_eq!(goal_verdict(None, Some(&base)), "not measured (see errors)");
    }
}
