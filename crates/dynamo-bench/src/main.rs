use anyhow::Context;
use clap::Parser;
use sweetlies_dynamo_bench::report::{self, Layout};
use sweetlies_dynamo_bench::runner;
use sweetlies_dynamo_bench::{Args, BenchConfig};

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    args.access_key_id = std::env::var("AWS_ACCESS_KEY_ID").ok();
    args.secret_access_key = std::env::var("AWS_SECRET_ACCESS_KEY").ok();
    let config = BenchConfig::from_args(args).context("invalid arguments")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start tokio")?;
    let results = runtime.block_on(async {
        let mut results = Vec::new();
        for target in &config.targets {
            eprintln!("==> {} ({})", target.name, target.endpoint);
            results.extend(
                runner::run_target(&config, target, |r| {
                    let name = r.operation.name();
                    let cores = r.client_cores.map(|c| format!("client CPU {c:.2} cores")).unwrap_or_default();
                    match &r.summary {
                        Some(s) => eprintln!(
                            "    {name:<18} {:>3} clients: {:>8.0} ops/s  p50 {:>8.2} ms  p99 {:>8.2} ms  {} errors  {cores}",
                            r.clients,
                            s.ops_per_sec(),
                            s.p50.as_secs_f64() * 1e3,
                            s.p99.as_secs_f64() * 1e3,
                            r.errors
                        ),
                        None => eprintln!("    {name:<18} {:>3} clients: FAILED", r.clients),
                    }
                })
                .await,
            );
        }
        results
    });
    let names: Vec<String> = config.targets.iter().map(|t| t.name.clone()).collect();
    let layout = Layout {
        targets: &names,
        baseline: &config.baseline,
        operations: &config.operations,
        clients: &config.clients,
    };
    print!("{}", report::render(&layout, &results));
    Ok(())
}
