//! `monitoring_leases`: named leases with a holder and an expiry, taken by a conditional insert
//! or update that works the same on both backends.

use sea_orm::ConnectionTrait;

use super::Store;
use crate::error::Result;

impl<C: ConnectionTrait> Store<'_, C> {
    /// Takes lease `name` for `holder` until `expire` when it is free, expired at `now`, or
    /// already `holder`'s; whether it was taken.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        expire: i64,
    ) -> Result<bool> {
        let inserted = self.execute(
            "INSERT INTO monitoring_leases (name, holder, expire_time) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            [name.into(), holder.into(), expire.into()],
        )
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(true);
        }
        let updated = self.execute(
            "UPDATE monitoring_leases SET holder = $1, expire_time = $2 WHERE name = $3 AND (expire_time <= $4 OR holder = $5)",
            [
                holder.into(),
                expire.into(),
                name.into(),
                now.into(),
                holder.into(),
            ],
        )
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Gives lease `name` up, if `holder` holds it.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        self.execute(
            "UPDATE monitoring_leases SET expire_time = 0 WHERE name = $1 AND holder = $2",
            [name.into(), holder.into()],
        )
        .await?;
        Ok(())
    }
}
