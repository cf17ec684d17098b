//! sweetlies-dynamo: a DynamoDB-compatible server (JSON 1.0 protocol, SigV4) whose system of
//! record is PostgreSQL. See the crate README for the coverage table.

pub mod catalog;
pub mod config;
pub mod db;
pub mod error;
pub mod ops;
pub mod server;
pub mod sigv4;
pub mod state;
pub mod store;
pub mod ttl;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use config::{AccessKeys, Args, Config, ConfigError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] db::DbError),
    #[error("cannot listen on {address}: {source}")]
    Listen { address: SocketAddr, source: std::io::Error },
}

/// A server bound to its address and connected to PostgreSQL, not yet serving.
pub struct Server {
    listener: TcpListener,
    state: Arc<state::State>,
    ttl_sweep_interval: std::time::Duration,
}

impl Server {
    pub async fn start(config: Config) -> Result<Server, StartError> {
        let pool = db::connect(&config.database, config.pool_size).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Listen { address: config.listen, source })?;
        let state = Arc::new(state::State {
            pool,
            catalog: catalog::Catalog::default(),
            access_keys: config.access_keys,
        });
        Ok(Server { listener, state, ttl_sweep_interval: config.ttl_sweep_interval })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    /// Serves until the process ends; the TTL sweeper runs alongside.
    pub async fn run(self) -> std::io::Result<()> {
        tokio::spawn(ttl::sweep_forever(self.state.clone(), self.ttl_sweep_interval));
        server::serve(self.listener, self.state).await
    }
}
