//! What every request handler shares.

use deadpool_postgres::Pool;

use crate::catalog::Catalog;
use crate::config::AccessKeys;

pub struct State {
    pub pool: Pool,
    pub catalog: Catalog,
    pub access_keys: AccessKeys,
}
