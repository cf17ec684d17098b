//! Drives each target: set-up, then one bounded run per (operation, clients).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};

use crate::config::{BenchConfig, Target};
use crate::stats::Summary;
use crate::workload::{self, Operation, Tables, Worker};

/// A request slower than this counts as a failure, so a stuck server cannot stall the benchmark.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const LOADERS: usize = 16;

#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub target: String,
    pub operation: Operation,
    pub clients: usize,
    /// The successful operations; None when none succeeded (or set-up failed).
    pub summary: Option<Summary>,
    /// Measured requests that failed or gave a wrong answer; they are not in `summary`.
    pub errors: u64,
    pub first_error: Option<String>,
    /// CPU this benchmark process used per second of the measured window (1.0 = one core): the
    /// client shares the machine with the server, and this says how much it took.
    pub client_cores: Option<f64>,
}

impl RunResult {
    fn failed(target: &Target, operation: Operation, clients: usize, error: String) -> RunResult {
        RunResult {
            target: target.name.clone(),
            operation,
            clients,
            summary: None,
            errors: 0,
            first_error: Some(error),
            client_cores: None,
        }
    }
}

/// An SDK client that signs with SigV4 and neither retries nor waits long: each sample is one
/// request.
pub fn client_for(config: &BenchConfig, target: &Target) -> Client {
    let credentials = Credentials::new(
        &config.credentials.access_key_id,
        &config.credentials.secret_access_key,
        None,
        None,
        "sweetlies-dynamo-bench",
    );
    let sdk_config = aws_sdk_dynamodb::Config::builder()
        .endpoint_url(&target.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(REQUEST_TIMEOUT)
                .build(),
        )
        .build();
    Client::from_conf(sdk_config)
}

/// Runs every (operation, clients) pair against one target, reporting each result as it lands.
pub async fn run_target(
    config: &BenchConfig,
    target: &Target,
    mut report: impl FnMut(&RunResult),
) -> Vec<RunResult> {
    let client = client_for(config, target);
    let tables = Tables::with_prefix(&config.table_prefix);
    let setup = workload::setup(&client, &tables, LOADERS)
        .await
        .err()
        .map(|e| format!("set-up: {e}"));
    let mut results = Vec::new();
    let mut run = 0u32;
    for &operation in &config.operations {
        for &clients in &config.clients {
            run += 1;
            let result = match &setup {
                Some(error) => RunResult::failed(target, operation, clients, error.clone()),
                None => run_one(config, &client, &tables, target, operation, clients, run).await,
            };
            report(&result);
            results.push(result);
        }
    }
    results
}

/// Workers loop until the deadline or `max_ops`; failures are counted, not retried, and do not
/// stop the run (moto, for one, fails some concurrent transactions).
async fn run_one(
    config: &BenchConfig,
    client: &Client,
    tables: &Tables,
    target: &Target,
    operation: Operation,
    clients: usize,
    run: u32,
) -> RunResult {
    let mut preparing = tokio::task::JoinSet::new();
    for index in 0..clients as u32 {
        let mut worker = Worker::new(client.clone(), tables.clone(), run, index);
        preparing.spawn(async move { worker.prepare(operation).await.map(|()| worker) });
    }
    let mut workers = Vec::with_capacity(clients);
    while let Some(joined) = preparing.join_next().await {
        match joined.expect("worker task panicked") {
            Ok(worker) => workers.push(worker),
            Err(error) => {
                return RunResult::failed(target, operation, clients, format!("preparing: {error}"));
            }
        }
    }

    let measure_start = Instant::now() + config.warmup;
    let deadline = measure_start + config.measure;
    let attempts = Arc::new(AtomicU64::new(0));
    let mut running = tokio::task::JoinSet::new();
    for mut worker in workers {
        let (attempts, max_ops) = (attempts.clone(), config.max_ops);
        running.spawn(async move {
            let mut sample = WorkerSample {
                latencies: Vec::new(),
                last_end: measure_start,
                errors: 0,
                first_error: None,
            };
            loop {
                let started = Instant::now();
                if started >= deadline {
                    break;
                }
                let measuring = started >= measure_start;
                if measuring && attempts.fetch_add(1, Ordering::Relaxed) >= max_ops {
                    break;
                }
                let outcome = worker.execute(operation).await;
                let ended = Instant::now();
                match outcome {
                    Ok(()) if measuring => {
                        sample.latencies.push(ended - started);
                        sample.last_end = ended;
                    }
                    Ok(()) => {}
                    Err(error) => {
                        if measuring {
                            sample.errors += 1;
                            sample.first_error.get_or_insert_with(|| error.to_string());
                        }
                        if let Err(error) = worker.recover(operation).await {
                            sample
                                .first_error
                                .get_or_insert_with(|| format!("recovering: {error}"));
                        }
                    }
                }
            }
            sample
        });
    }
    tokio::time::sleep_until(measure_start.into()).await;
    let cpu_at_start = process_cpu_time();
    let mut latencies = Vec::new();
    let mut last_end = measure_start;
    let (mut errors, mut first_error) = (0, None);
    while let Some(joined) = running.join_next().await {
        let sample = joined.expect("worker task panicked");
        latencies.extend(sample.latencies);
        last_end = last_end.max(sample.last_end);
        errors += sample.errors;
        first_error = first_error.or(sample.first_error);
    }
    let client_cores = process_cpu_time()
        .zip(cpu_at_start)
        .map(|(end, start)| (end - start).as_secs_f64() / measure_start.elapsed().as_secs_f64());
    let summary = Summary::from_latencies(latencies, last_end - measure_start);
    if summary.is_none() && first_error.is_none() {
        first_error = Some("no operation completed inside the measured window".into());
    }
    RunResult {
        target: target.name.clone(),
        operation,
        clients,
        summary,
        errors,
        first_error,
        client_cores,
    }
}

/// User plus system CPU time of this process so far.
fn process_cpu_time() -> Option<Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a complete rusage into the pointer it is given.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: getrusage returned 0, so it filled the struct.
    let usage = unsafe { usage.assume_init() };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Some(time(usage.ru_utime) + time(usage.ru_stime))
}

struct WorkerSample {
    latencies: Vec<Duration>,
    last_end: Instant,
    errors: u64,
    first_error: Option<String>,
}
