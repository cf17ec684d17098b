//! Time of `sweetlies-appliance new` (everything but argument parsing and the summary) for 1
//! and 5 hosts, with fresh random keys as an operator gets them. Run: `cargo bench --bench new_org`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::time::Duration;
use sweetlies_appliance::command::new::{NewArgs, create_org};

fn bench_new(c: &mut Criterion) {
    let mut group = c.benchmark_group("new");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    for hosts in [1usize, 5] {
        group.bench_function(format!("{hosts}_hosts"), |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().unwrap();
                    std::fs::create_dir(dir.path().join("repo")).unwrap();
                    let config = NewArgs {
                        org: "bench".into(),
                        domain: "bench.example".into(),
                        hosts,
                        admin_recipient: None,
                        services: vec![],
                        repo: dir.path().join("repo"),
                        config_dir: Some(dir.path().join("config")),
                        seed: None,
                    }
                    .validate()
                    .unwrap();
                    (dir, config)
                },
                |(dir, config)| {
                    create_org(&config).unwrap();
                    dir
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_new);
criterion_main!(benches);
