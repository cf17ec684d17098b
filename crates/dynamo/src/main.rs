use anyhow::Context;
use clap::Parser;

/// DynamoDB-compatible server storing its data in PostgreSQL.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    args: sweetlies_dynamo::Args,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let config = sweetlies_dynamo::Config::from_args(cli.args).context("invalid configuration")?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = config.worker_threads {
        runtime.worker_threads(threads);
    }
    runtime.enable_all().build().context("cannot start the async runtime")?.block_on(serve(config))
}

async fn serve(config: sweetlies_dynamo::Config) -> anyhow::Result<()> {
    let server = sweetlies_dynamo::Server::start(config).await.context("cannot start sweetlies-dynamo")?;
    tracing::info!(address = %server.local_addr(), "serving the DynamoDB API");
    tokio::select! {
        result = server.run() => result.context("server stopped")?,
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted, stopping"),
    }
    Ok(())
}
