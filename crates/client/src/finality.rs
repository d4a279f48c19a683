//! Following finality from a trust anchor over JSON-RPC.
//!
//! The checks themselves live in `formica-verify` (re-exported here): [`check_finality`] checks
//! one `formica_getFinality` answer against a committee, and [`FinalityChecker`] keeps a chain of
//! trust from the genesis (or a checkpoint) across epochs. This module adds what needs a node:
//! [`Client::verified_header`] asks for the epochs' boundary proofs it lacks, then for the
//! block's own.

use crate::client::Client;
use crate::error::{ClientError, Result};
use formica_rpc::types::FinalityView;
use formica_types::{Header, Height};
pub use formica_verify::finality::{
    COMMITTEES_KEPT, Committee, FinalityChecker, FinalityError, FinalityProof, ProvesFinality, check_finality,
    epoch_last, epoch_of,
};

impl Client {
    /// The header of the block at `height`, once it is proven final under `checker`'s chain of
    /// trust: first the committee of the block's epoch is learned by walking the epochs'
    /// last blocks from the newest known committee, then the block's own proof is checked.
    /// Fails with [`ClientError::Unverified`] if any proof does not check out.
    pub async fn verified_header(&self, checker: &mut FinalityChecker, height: Height) -> Result<Header> {
        let epoch = epoch_of(height, checker.epoch_blocks());
        let mut known = checker.nearest(epoch)?;
        while known.epoch < epoch {
            let boundary = epoch_last(known.epoch, checker.epoch_blocks())
                .ok_or(FinalityError::UnknownCommittee { epoch: known.epoch })?;
            let view = self.proof(boundary).await?;
            checker.learn_next(known.epoch, &view)?;
            known = checker.nearest(epoch)?;
        }
        let view = self.proof(height).await?;
        Ok(checker.check(height, &view)?)
    }

    async fn proof(&self, height: Height) -> Result<FinalityView> {
        self.finality(height).await?.ok_or(ClientError::Unverified(FinalityError::NotFinalized { height }))
    }
}
